import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import de.bwaldvogel.mongo.backend.memory.MemoryCollection;
import de.bwaldvogel.mongo.backend.memory.MemoryDatabase;
import de.bwaldvogel.mongo.backend.memory.index.MemoryUniqueIndex;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.exception.KeyConstraintError;
import java.util.List;
import java.util.Objects;

/**
 * Serves the MongoDB wire protocol on 127.0.0.1 at the given port. The bundled main classes of
 * mongo-java-server bind port 27017 only, so this launcher exists to make the port configurable.
 *
 * Usage: java -cp 'jars/*' MongoLauncher.java PORT [H2_FILE]
 * Without H2_FILE the data lives in memory (tests); with it, data survives restarts (npm start).
 *
 * In memory, unique indexes also serve queries that pin every key of the index and add other
 * conditions (`{_id: x, state: 'pending'}`), as MongoDB's do: the index finds the candidates and
 * the whole query is still matched against each. mongo-java-server itself uses an index only when
 * a query names exactly its keys, so every conditional update by `_id` scanned the collection.
 *
 * In memory, collections also keep no running total of their documents' size (collStats' `size`
 * reads 0): mongo-java-server kept it by encoding every document to BSON before and after each
 * update, an eighth of its time under the ledger's load, for a figure nothing here reads.
 */
public class MongoLauncher {
    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: MongoLauncher PORT [H2_FILE]");
            System.exit(2);
        }
        int port = Integer.parseInt(args[0]);
        MongoBackend backend = args.length > 1 ? new H2Backend(args[1]) : new KeyedQueryMemoryBackend();
        MongoServer server = new MongoServer(backend);
        server.bind("127.0.0.1", port);
        System.out.println("mongo-java-server listening on 127.0.0.1:" + port);
        Runtime.getRuntime().addShutdownHook(new Thread(server::shutdownNow));
        Thread.currentThread().join();
    }
}

/** A memory backend whose databases build {@link KeyedQueryUniqueIndex}es and collections that do not track their size. */
class KeyedQueryMemoryBackend extends MemoryBackend {
    @Override
    public MemoryDatabase openOrCreateDatabase(String databaseName) {
        return new MemoryDatabase(databaseName, getCursorRegistry()) {
            @Override
            protected Index<Integer> openOrCreateUniqueIndex(String collectionName, String indexName, List<IndexKey> keys, boolean sparse) {
                return new KeyedQueryUniqueIndex(indexName, keys, sparse);
            }

            @Override
            protected MemoryCollection openOrCreateCollection(String collectionName, CollectionOptions options) {
                return new MemoryCollection(this, collectionName, options, cursorRegistry) {
                    @Override
                    protected boolean tracksDataSize() {
                        return false;
                    }
                };
            }
        };
    }
}

/**
 * A unique index that also narrows queries carrying conditions beyond its own keys, and that
 * skips its bookkeeping for updates that leave its keys as they were (every update by `_id`):
 * mongo-java-server worked out and compared the old and new keys several times per update.
 */
class KeyedQueryUniqueIndex extends MemoryUniqueIndex {
    /** The keys are top-level fields, so an unchanged key is a field whose value did not change. */
    private final boolean topLevelKeys;

    KeyedQueryUniqueIndex(String name, List<IndexKey> keys, boolean sparse) {
        super(name, keys, sparse);
        topLevelKeys = keys.stream().noneMatch(key -> key.getKey().contains("."));
    }

    /** Whether every key holds the very same value before and after (false when unsure). */
    private boolean keysUnchanged(Document oldDocument, Document newDocument) {
        if (!topLevelKeys) return false;
        for (IndexKey key : getKeys()) {
            if (!Objects.equals(oldDocument.get(key.getKey()), newDocument.get(key.getKey()))) return false;
        }
        return true;
    }

    @Override
    public synchronized void checkUpdate(Document oldDocument, Document newDocument, MongoCollection<Integer> collection) {
        if (keysUnchanged(oldDocument, newDocument)) return;
        super.checkUpdate(oldDocument, newDocument, collection);
    }

    @Override
    public void updateInPlace(Document oldDocument, Document newDocument, Integer position, MongoCollection<Integer> collection) throws KeyConstraintError {
        if (keysUnchanged(oldDocument, newDocument)) return;
        super.updateInPlace(oldDocument, newDocument, position, collection);
    }

    /** The query's conditions on this index's keys alone, or null if it does not pin them all. */
    private Document narrow(Document query) {
        Document narrowed = new Document();
        for (String key : keySet()) {
            if (!query.containsKey(key)) return null;
            narrowed.put(key, query.get(key));
        }
        return narrowed.size() < query.size() ? narrowed : null;
    }

    @Override
    public synchronized boolean canHandle(Document query) {
        if (super.canHandle(query)) return true;
        Document narrowed = narrow(query);
        return narrowed != null && super.canHandle(narrowed);
    }

    @Override
    public synchronized Iterable<Integer> getPositions(Document query) {
        if (super.canHandle(query)) return super.getPositions(query);
        return super.getPositions(narrow(query));
    }
}

