// Drives the facade with the official JavaScript client and prints what it parsed, as JSON.
// Usage: FACADE_URL=http://127.0.0.1:PORT FACADE_TOKEN=... node search.mjs
import { Client, errors } from "@opensearch-project/opensearch";

const client = new Client({
  node: process.env.FACADE_URL,
  headers: { Authorization: `Bearer ${process.env.FACADE_TOKEN}` },
});
const anonymous = new Client({ node: process.env.FACADE_URL });

async function failure(promise) {
  try {
    await promise;
    return null;
  } catch (error) {
    return {
      isResponseError: error instanceof errors.ResponseError,
      status: error.meta?.statusCode ?? null,
      type: error.meta?.body?.error?.type ?? null,
    };
  }
}

const out = {};
const info = await client.info();
out.info = info.body.version;
const searched = await client.search({
  index: "docs",
  body: {
    query: { bool: { must: [{ match: { body: "reset password" } }], must_not: [{ term: { "metadata.category": "sso" } }] } },
    highlight: { fields: { title: {} } },
    aggs: { categories: { terms: { field: "metadata.category", size: 5 } } },
    size: 3,
  },
});
out.search = {
  ids: searched.body.hits.hits.map((hit) => hit._id),
  total: searched.body.hits.total,
  highlight: searched.body.hits.hits[0].highlight,
  buckets: searched.body.aggregations.categories.buckets,
};
const multi = await client.msearch({
  body: [{ index: "docs" }, { query: { match: { body: "invoice" } } }, { index: "docs" }, { query: { fuzzy: { body: "x" } } }],
});
out.msearch = multi.body.responses.map((item) => ({ status: item.status, ids: item.hits ? item.hits.hits.map((h) => h._id) : null }));
out.errors = {
  unknownClause: await failure(client.search({ index: "docs", body: { query: { fuzzy: { body: "x" } } } })),
  wrongIndex: await failure(client.search({ index: "other", body: { query: { match: { body: "x" } } } })),
  noToken: await failure(anonymous.search({ index: "docs", body: { query: { match: { body: "x" } } } })),
};
console.log(JSON.stringify(out));
