// Generates TypeScript types from every .proto under proto/ into packages/grpc/src/generated,
// with the same options the runtime loader uses (packages/grpc/src/loader-options.json), so the
// types can never disagree with what is decoded. Runs on every `npm install`/`npm ci`.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const protoRoot = join(root, 'proto');
const outDir = join(root, 'packages/grpc/src/generated');
const options = JSON.parse(readFileSync(join(root, 'packages/grpc/src/loader-options.json'), 'utf8'));

function protoFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return protoFiles(path);
    return name.endsWith('.proto') ? [relative(protoRoot, path)] : [];
  });
}

const flags = [
  `--longs=${options.longs}`,
  `--enums=${options.enums}`,
  ...(options.keepCase ? ['--keepCase'] : []),
  ...(options.defaults ? ['--defaults'] : []),
  ...(options.oneofs ? ['--oneofs'] : []),
  '--grpcLib=@grpc/grpc-js',
  '--includeComments',
  `--outDir=${outDir}`,
  `--includeDirs=${protoRoot}`,
];
const generator = join(root, 'node_modules/@grpc/proto-loader/build/bin/proto-loader-gen-types.js');
rmSync(outDir, { recursive: true, force: true });
execFileSync(process.execPath, [generator, ...protoFiles(protoRoot), ...flags], { cwd: protoRoot, stdio: 'inherit' });
console.log(`proto types generated in ${relative(root, outDir)}`);
