// Renders /api/openapi.json as a browsable list, without third-party code (the API's CSP allows
// only this origin's scripts and styles).
'use strict';

function element(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
  for (const child of children) node.append(child);
  return node;
}

function resolve(spec, schema) {
  if (schema && schema.$ref)
    return resolve(
      spec,
      schema.$ref
        .split('/')
        .slice(1)
        .reduce((node, key) => node[key], spec),
    );
  return schema;
}

function operationView(spec, path, method, operation) {
  const details = element(
    'details',
    { 'data-search': `${method} ${path} ${operation.summary || ''} ${(operation.tags || []).join(' ')}`.toLowerCase() },
    element(
      'summary',
      {},
      element('span', { class: `method ${method}` }, method.toUpperCase()),
      element('code', { class: 'path' }, path),
      ` — ${operation.summary || ''}`,
    ),
  );
  if (operation.description) details.append(element('p', { class: 'roles' }, operation.description));
  if (operation.security) details.append(element('p', { class: 'roles' }, 'Needs a bearer access token.'));
  const parameters = (operation.parameters || []).map((parameter) => `${parameter.in} ${parameter.name}${parameter.required ? ' (required)' : ''}`);
  if (parameters.length > 0) details.append(element('p', {}, `Parameters: ${parameters.join(', ')}`));
  const body = operation.requestBody && operation.requestBody.content && operation.requestBody.content['application/json'];
  if (body) details.append(element('p', {}, 'Request body:'), element('pre', {}, JSON.stringify(resolve(spec, body.schema), null, 2)));
  for (const [status, response] of Object.entries(operation.responses || {})) {
    const content = response.content && (response.content['application/json'] || Object.values(response.content)[0]);
    details.append(element('p', {}, `${status}: ${response.description || ''}`));
    if (content && content.schema && status < '300') details.append(element('pre', {}, JSON.stringify(resolve(spec, content.schema), null, 2)));
  }
  return details;
}

async function render() {
  const spec = await (await fetch('/api/openapi.json')).json();
  const main = document.getElementById('operations');
  main.textContent = '';
  const byTag = new Map();
  for (const [path, operations] of Object.entries(spec.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const tag = (operation.tags && operation.tags[0]) || 'other';
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push(operationView(spec, path, method, operation));
    }
  }
  for (const [tag, views] of byTag) main.append(element('section', {}, element('h2', {}, tag), ...views));
  document.getElementById('filter').addEventListener('input', (event) => {
    const wanted = event.target.value.toLowerCase();
    for (const details of main.querySelectorAll('details')) details.hidden = !details.dataset.search.includes(wanted);
  });
}

render().catch((error) => {
  document.getElementById('operations').textContent = `Could not load the API description: ${error}`;
});
