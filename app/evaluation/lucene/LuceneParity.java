// The records our embedded backend holds, indexed and searched by Lucene as an
// OpenSearch index of our template would: the oracle for backend parity. Only
// Lucene's public API; compiled against the jar at run time.
//
// usage: java -cp JAR:DIR LuceneParity CONFIG_DIR TEXT.tsv VECTORS.tsv QUERIES.tsv K OUT.tsv
//        java -cp JAR:DIR LuceneParity analyze CONFIG_DIR IN.txt OUT.txt
//   CONFIG_DIR   holds stopwords.txt (one word a line) and analysis.properties
//                (max_token_length, stemmer): the template's analyzer chain
//   TEXT.tsv     key <TAB> tenant <TAB> acl,acl <TAB> text      (lexical records)
//   VECTORS.tsv  key <TAB> tenant <TAB> acl,acl <TAB> f,f,f,...  (chunk vectors)
//   QUERIES.tsv  qid <TAB> lexical|vector <TAB> tenant <TAB> principal,principal <TAB> text or f,f,...
//   OUT.tsv      qid <TAB> key <TAB> score, best first, K per query
// analyze writes, for each line of IN.txt, its tokens after analysis, space-separated.
//
// A query sees a record when the tenant matches and the record's ACL holds "*"
// or one of the principals: the filter our backends apply inside each leg.
// Lexical queries are match (OR) queries scored by BM25 (k1 1.2, b 0.75);
// vector queries score every admitted record exactly with Lucene's cosine
// similarity, (1 + cos) / 2.

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.Properties;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.tokenattributes.CharTermAttribute;
import org.apache.lucene.analysis.custom.CustomAnalyzer;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.KnnFloatVectorField;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.document.TextField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.FloatVectorValues;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.Term;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.ScoreMode;
import org.apache.lucene.search.Scorer;
import org.apache.lucene.search.TermInSetQuery;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.Weight;
import org.apache.lucene.search.similarities.BM25Similarity;
import org.apache.lucene.store.ByteBuffersDirectory;
import org.apache.lucene.util.BytesRef;
import org.apache.lucene.util.QueryBuilder;

public final class LuceneParity {
    private static final String KEY = "key";
    private static final String TENANT = "tenant";
    private static final String ACL = "acl";
    private static final String TEXT = "text";
    private static final String VECTOR = "vector";
    private static final String PUBLIC = "*";

    public static void main(String[] args) throws Exception {
        if (args.length == 4 && args[0].equals("analyze")) {
            analyze(templateAnalyzer(Paths.get(args[1])), Paths.get(args[2]), Paths.get(args[3]));
            return;
        }
        if (args.length != 6) {
            System.err.println("usage: LuceneParity CONFIG_DIR TEXT.tsv VECTORS.tsv QUERIES.tsv K OUT.tsv");
            System.exit(2);
        }
        Analyzer analyzer = templateAnalyzer(Paths.get(args[0]));
        BM25Similarity similarity = new BM25Similarity(1.2f, 0.75f);
        IndexSearcher.setMaxClauseCount(1 << 16);  // paragraph-long queries
        IndexSearcher text = index(Paths.get(args[1]), analyzer, similarity, false);
        IndexSearcher vectors = index(Paths.get(args[2]), analyzer, similarity, true);
        int k = Integer.parseInt(args[4]);
        QueryBuilder builder = new QueryBuilder(analyzer);
        try (BufferedReader queries = Files.newBufferedReader(Paths.get(args[3]), StandardCharsets.UTF_8);
             BufferedWriter out = Files.newBufferedWriter(Paths.get(args[5]), StandardCharsets.UTF_8)) {
            for (String line; (line = queries.readLine()) != null; ) {
                String[] q = line.split("\t", 5);
                Query filter = accessFilter(q[2], q[3]);
                List<ScoreDoc> hits;
                IndexSearcher searcher;
                if (q[1].equals("lexical")) {
                    searcher = text;
                    Query match = builder.createBooleanQuery(TEXT, q[4], BooleanClause.Occur.SHOULD);
                    hits = match == null ? List.of() : lexical(searcher, match, filter, k);
                } else {
                    searcher = vectors;
                    hits = exactKnn(searcher, parseVector(q[4]), filter, k);
                }
                for (ScoreDoc hit : hits) {
                    String key = searcher.storedFields().document(hit.doc).get(KEY);
                    out.write(q[0] + "\t" + key + "\t" + hit.score + "\n");
                }
            }
        }
    }

    /** The template's custom analyzer: standard tokenizer, length, lowercase, stop, snowball. */
    private static Analyzer templateAnalyzer(Path config) throws Exception {
        Properties analysis = new Properties();
        try (Reader in = Files.newBufferedReader(config.resolve("analysis.properties"), StandardCharsets.UTF_8)) {
            analysis.load(in);
        }
        return CustomAnalyzer.builder(config)
            .withTokenizer("standard")
            .addTokenFilter("length", "min", "0", "max", analysis.getProperty("max_token_length"))
            .addTokenFilter("lowercase")
            .addTokenFilter("stop", "words", "stopwords.txt", "ignoreCase", "false")
            .addTokenFilter("snowballPorter", "language", analysis.getProperty("stemmer"))
            .build();
    }

    private static void analyze(Analyzer analyzer, Path in, Path out) throws Exception {
        try (BufferedReader lines = Files.newBufferedReader(in, StandardCharsets.UTF_8);
             BufferedWriter tokens = Files.newBufferedWriter(out, StandardCharsets.UTF_8)) {
            for (String line; (line = lines.readLine()) != null; ) {
                StringBuilder joined = new StringBuilder();
                try (TokenStream stream = analyzer.tokenStream(TEXT, line)) {
                    CharTermAttribute term = stream.addAttribute(CharTermAttribute.class);
                    stream.reset();
                    while (stream.incrementToken()) {
                        joined.append(joined.length() == 0 ? "" : " ").append(term);
                    }
                    stream.end();
                }
                tokens.write(joined + "\n");
            }
        }
    }

    private static IndexSearcher index(Path records, Analyzer analyzer, BM25Similarity similarity, boolean vectors)
            throws Exception {
        ByteBuffersDirectory directory = new ByteBuffersDirectory();
        IndexWriterConfig config = new IndexWriterConfig(analyzer).setSimilarity(similarity);
        try (IndexWriter writer = new IndexWriter(directory, config);
             BufferedReader in = Files.newBufferedReader(records, StandardCharsets.UTF_8)) {
            for (String line; (line = in.readLine()) != null; ) {
                String[] r = line.split("\t", 4);
                Document doc = new Document();
                doc.add(new StoredField(KEY, r[0]));
                doc.add(new StringField(TENANT, r[1], Field.Store.NO));
                for (String principal : r[2].split(",")) {
                    doc.add(new StringField(ACL, principal, Field.Store.NO));
                }
                if (vectors) {
                    doc.add(new KnnFloatVectorField(VECTOR, parseVector(r[3]), VectorSimilarityFunction.COSINE));
                } else {
                    doc.add(new TextField(TEXT, r[3], Field.Store.NO));
                }
                writer.addDocument(doc);
            }
        }
        IndexSearcher searcher = new IndexSearcher(DirectoryReader.open(directory));
        searcher.setSimilarity(similarity);
        return searcher;
    }

    private static Query accessFilter(String tenant, String principals) {
        List<BytesRef> allowed = new ArrayList<>();
        allowed.add(new BytesRef(PUBLIC));
        for (String principal : principals.split(",")) {
            if (!principal.isEmpty()) {
                allowed.add(new BytesRef(principal));
            }
        }
        return new BooleanQuery.Builder()
            .add(new TermQuery(new Term(TENANT, tenant)), BooleanClause.Occur.FILTER)
            .add(new TermInSetQuery(ACL, allowed), BooleanClause.Occur.FILTER)
            .build();
    }

    private static List<ScoreDoc> lexical(IndexSearcher searcher, Query match, Query filter, int k) throws Exception {
        Query query = new BooleanQuery.Builder()
            .add(match, BooleanClause.Occur.MUST)
            .add(filter, BooleanClause.Occur.FILTER)
            .build();
        return List.of(searcher.search(query, k).scoreDocs);
    }

    /** Every admitted record scored with Lucene's cosine; the top k, best first. */
    private static List<ScoreDoc> exactKnn(IndexSearcher searcher, float[] target, Query filter, int k) throws Exception {
        PriorityQueue<ScoreDoc> top = new PriorityQueue<>((a, b) -> Float.compare(a.score, b.score));
        Weight weight = searcher.createWeight(searcher.rewrite(filter), ScoreMode.COMPLETE_NO_SCORES, 1f);
        for (LeafReaderContext leaf : searcher.getIndexReader().leaves()) {
            Scorer admitted = weight.scorer(leaf);
            FloatVectorValues values = leaf.reader().getFloatVectorValues(VECTOR);
            if (admitted == null || values == null) {
                continue;
            }
            DocIdSetIterator docs = admitted.iterator();
            for (int doc = docs.nextDoc(); doc != DocIdSetIterator.NO_MORE_DOCS; doc = docs.nextDoc()) {
                if (values.advance(doc) != doc) {
                    continue;
                }
                float score = VectorSimilarityFunction.COSINE.compare(target, values.vectorValue());
                top.add(new ScoreDoc(leaf.docBase + doc, score));
                if (top.size() > k) {
                    top.poll();
                }
            }
        }
        List<ScoreDoc> best = new ArrayList<>(top);
        best.sort((a, b) -> Float.compare(b.score, a.score));
        return best;
    }

    private static float[] parseVector(String text) {
        String[] parts = text.split(",");
        float[] vector = new float[parts.length];
        for (int i = 0; i < parts.length; i++) {
            vector[i] = Float.parseFloat(parts[i]);
        }
        return vector;
    }
}
