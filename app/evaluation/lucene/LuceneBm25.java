// BM25 over whole documents with Lucene, as an OpenSearch `text` field with the
// `english` analyzer ranks them for a `match` query: the keyword search our users
// run today. Only Lucene's public API; compiled against the jar at run time.
//
// usage: java -cp JAR:DIR LuceneBm25 DOCS.tsv QUERIES.tsv K OUT.tsv
//   DOCS.tsv    id <TAB> text          (one document per line)
//   QUERIES.tsv qid <TAB> text
//   OUT.tsv     qid <TAB> docid <TAB> score, best first, K per query

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.en.EnglishAnalyzer;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.document.TextField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.similarities.BM25Similarity;
import org.apache.lucene.store.ByteBuffersDirectory;
import org.apache.lucene.util.QueryBuilder;

public final class LuceneBm25 {
    private static final String ID = "id";
    private static final String BODY = "body";

    public static void main(String[] args) throws Exception {
        if (args.length != 4) {
            System.err.println("usage: LuceneBm25 DOCS.tsv QUERIES.tsv K OUT.tsv");
            System.exit(2);
        }
        Analyzer analyzer = new EnglishAnalyzer();
        BM25Similarity similarity = new BM25Similarity(1.2f, 0.75f);
        ByteBuffersDirectory directory = new ByteBuffersDirectory();
        IndexWriterConfig config = new IndexWriterConfig(analyzer).setSimilarity(similarity);
        try (IndexWriter writer = new IndexWriter(directory, config);
             BufferedReader docs = Files.newBufferedReader(Paths.get(args[0]), StandardCharsets.UTF_8)) {
            for (String line; (line = docs.readLine()) != null; ) {
                int tab = line.indexOf('\t');
                Document doc = new Document();
                doc.add(new StoredField(ID, line.substring(0, tab)));
                doc.add(new TextField(BODY, line.substring(tab + 1), Field.Store.NO));
                writer.addDocument(doc);
            }
        }
        int k = Integer.parseInt(args[2]);
        IndexSearcher.setMaxClauseCount(1 << 16);  // paragraph-long queries
        try (DirectoryReader reader = DirectoryReader.open(directory);
             BufferedReader queries = Files.newBufferedReader(Paths.get(args[1]), StandardCharsets.UTF_8);
             BufferedWriter out = Files.newBufferedWriter(Paths.get(args[3]), StandardCharsets.UTF_8)) {
            IndexSearcher searcher = new IndexSearcher(reader);
            searcher.setSimilarity(similarity);
            QueryBuilder builder = new QueryBuilder(analyzer);
            for (String line; (line = queries.readLine()) != null; ) {
                int tab = line.indexOf('\t');
                String qid = line.substring(0, tab);
                Query query = builder.createBooleanQuery(BODY, line.substring(tab + 1), BooleanClause.Occur.SHOULD);
                if (query == null) {
                    continue;  // nothing left after analysis (all stop words)
                }
                for (ScoreDoc hit : searcher.search(query, k).scoreDocs) {
                    String id = searcher.storedFields().document(hit.doc).get(ID);
                    out.write(qid + "\t" + id + "\t" + hit.score + "\n");
                }
            }
        }
    }
}
