"""The onnxruntime encoder: vectors, batching, order, the query cache, tokens, errors."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from app.embedding import Encoder, ModelIntegrityError, ModelNotFoundError, load_encoder, normalise_query, sha256_file
from app.query_cache import SharedVectorCache
from app.model_export import export_embedding_model
from fresh_imports import modules_loaded_by

pytestmark = pytest.mark.slow  # needs the exported model (one export per session)

#: Mixed lengths (1 to ~300 word pieces, the last beyond the 256 the model reads), not length-sorted.
MIXED = [
    "A much longer passage about storage quotas, which apply per workspace rather than per user. " * 8,
    "x",
    "Medium length text about rotating access keys.",
    "Quota exceeded. " * 80,
    "short",
    "Two-factor authentication is required for every administrator account in the organisation.",
    "",
]


@pytest.fixture(scope="session")
def exported_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Same folder as test_model_export's fixture: whichever runs second finds it current."""
    out = tmp_path_factory.getbasetemp() / "onnx-embedding"
    export_embedding_model(out)
    return out


@pytest.fixture(scope="session")
def fp32_encoder(exported_dir: Path) -> Encoder:
    return load_encoder(exported_dir, variant="fp32", cache_size=0)


@pytest.fixture(scope="session")
def int8_encoder(exported_dir: Path) -> Encoder:
    return load_encoder(exported_dir, variant="int8", cache_size=64)


def test_model_version_names_the_variant_and_file_hash(exported_dir: Path, fp32_encoder: Encoder, int8_encoder: Encoder) -> None:
    for encoder, variant in ((fp32_encoder, "fp32"), (int8_encoder, "int8")):
        digest = sha256_file(exported_dir / f"model.{variant}.onnx")
        assert encoder.model_version == f"all-MiniLM-L6-v2:{variant}:{digest[:12]}"
        assert re.fullmatch(r"all-MiniLM-L6-v2:(fp32|int8):[0-9a-f]{12}", encoder.model_version)
        assert (encoder.dimension, encoder.max_length) == (384, 256)


@pytest.mark.parametrize("variant", ["fp32", "int8"])
def test_vectors_are_unit_length_float32(exported_dir: Path, variant: str) -> None:
    encoder = load_encoder(exported_dir, variant=variant, cache_size=0)
    query = encoder.embed_query("how do I rotate an API key")
    passages = encoder.embed_passages(MIXED, batch_size=3)
    assert query.shape == (384,) and query.dtype == np.float32
    assert passages.shape == (len(MIXED), 384) and passages.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(query), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-5)


def test_fp32_batches_equal_one_by_one_in_input_order(fp32_encoder: Encoder) -> None:
    single = np.stack([fp32_encoder.embed_passages([text])[0] for text in MIXED])
    for batch_size in (1, 2, 3, 32):
        np.testing.assert_allclose(fp32_encoder.embed_passages(MIXED, batch_size=batch_size), single, atol=1e-5)
    np.testing.assert_allclose(fp32_encoder.embed_passages(MIXED[::-1], batch_size=3), single[::-1], atol=1e-5)
    # A query is the same text through the unpadded path.
    np.testing.assert_allclose(fp32_encoder.embed_query(MIXED[2]), single[2], atol=1e-5)


def test_int8_batches_stay_close_to_one_by_one_in_input_order(int8_encoder: Encoder) -> None:
    """Dynamic quantisation takes one activation range per batch tensor, so a batch nudges int8
    vectors (not equal to 1e-5 as fp32 is); each row still belongs to its own text."""
    single = np.stack([int8_encoder.embed_passages([text])[0] for text in MIXED])
    batched = int8_encoder.embed_passages(MIXED, batch_size=3)
    similarity = batched @ single.T
    assert np.diag(similarity).min() >= 0.995
    assert (similarity.argmax(axis=1) == np.arange(len(MIXED))).all()


def test_empty_input_and_a_bare_string(int8_encoder: Encoder) -> None:
    assert int8_encoder.embed_passages([]).shape == (0, 384)
    with pytest.raises(TypeError):
        int8_encoder.embed_passages("one string, not a list")  # type: ignore[arg-type]


def test_query_cache_keys_on_normalised_text(int8_encoder: Encoder) -> None:
    int8_encoder.cache_clear()
    before = int8_encoder.cache_info()
    first = int8_encoder.embed_query("  rotate   an api\tkey ")
    second = int8_encoder.embed_query("rotate an api key")
    third = int8_encoder.embed_query("rotate an API key")  # case differs: a different key
    after = int8_encoder.cache_info()
    assert second is first
    assert (after["hits"] - before["hits"], after["misses"] - before["misses"], after["size"]) == (1, 2, 2)
    np.testing.assert_allclose(third, first, atol=1e-6)  # the uncased model reads both alike
    with pytest.raises(ValueError):
        first[0] = 1.0  # cached vectors are shared, hence read-only


def test_query_cache_is_bounded_lru(exported_dir: Path) -> None:
    encoder = load_encoder(exported_dir, cache_size=2)
    a = encoder.embed_query("alpha")
    encoder.embed_query("beta")
    assert encoder.embed_query("alpha") is a  # refreshes alpha
    encoder.embed_query("gamma")  # evicts beta, the least recently used
    assert encoder.cache_info() == {"hits": 1, "shared_hits": 0, "misses": 3, "size": 2, "max_size": 2}
    assert encoder.embed_query("alpha") is a
    encoder.embed_query("beta")
    assert encoder.cache_info()["misses"] == 4

    uncached = load_encoder(exported_dir, cache_size=0)
    uncached.embed_query("alpha")
    uncached.embed_query("alpha")
    assert uncached.cache_info() == {"hits": 0, "shared_hits": 0, "misses": 2, "size": 0, "max_size": 0}


def test_processes_share_query_vectors_through_the_shared_cache(exported_dir: Path, tmp_path: Path) -> None:
    """Two encoders stand for two gunicorn workers of one server."""
    first = load_encoder(exported_dir, cache_size=8, shared_cache_dir=tmp_path / "shared")
    second = load_encoder(exported_dir, cache_size=8, shared_cache_dir=tmp_path / "shared")
    vector = first.embed_query("How do I  rotate a key?")
    again = second.embed_query(" How do I rotate a key?")  # same normalised text: embedded once
    assert np.array_equal(vector, again) and not again.flags.writeable
    assert second.cache_info() | {"size": 0} == {"hits": 1, "shared_hits": 1, "misses": 0, "size": 0, "max_size": 8}
    second.embed_query("How do I rotate a key?")  # now from its own LRU
    assert second.cache_info()["shared_hits"] == 1 and second.cache_info()["hits"] == 2
    # Another model's vectors are never served for this one.
    other = SharedVectorCache(tmp_path / "shared", "another-model", first.dimension, 2**20)
    assert other.get(normalise_query("How do I rotate a key?")) is None
    other.put("stored by another model", np.ones(first.dimension, dtype=np.float32))
    assert second.embed_query("stored by another model")[0] != 1.0


def test_a_broken_shared_cache_only_costs_embedding(exported_dir: Path, tmp_path: Path) -> None:
    encoder = load_encoder(exported_dir, cache_size=0, shared_cache_dir=tmp_path / "shared")
    expected = encoder.embed_query("alpha beta")
    for database in (tmp_path / "shared").glob("cache.db*"):
        database.write_bytes(b"not a database")
    assert np.allclose(load_encoder(exported_dir, cache_size=0).embed_query("alpha beta"), expected)
    assert np.allclose(encoder.embed_query("alpha beta"), expected)


def test_paraphrase_is_closer_than_unrelated(int8_encoder: Encoder) -> None:
    query = int8_encoder.embed_query("I can't log in to my account")
    paraphrase, unrelated = int8_encoder.embed_passages(
        ["Sign-in failures: what to do when you are unable to access your account", "Quarterly revenue grew by 4%"]
    )
    assert query @ paraphrase > query @ unrelated + 0.2


def test_token_count_has_no_special_tokens_and_no_truncation(int8_encoder: Encoder) -> None:
    assert int8_encoder.count_tokens("hello world") == 2
    assert int8_encoder.count_tokens("") == 0
    long_text = "quota " * 400
    assert int8_encoder.count_tokens(long_text) == 400  # the chunker must see past 256


def test_tokenizer_truncates_to_max_length_without_padding(int8_encoder: Encoder) -> None:
    assert len(int8_encoder.tokenizer.encode("hi").ids) == 3  # [CLS] hi [SEP], not padded to 128
    assert len(int8_encoder.tokenizer.encode("quota " * 400).ids) == 256


def test_threads_come_from_the_caller(exported_dir: Path) -> None:
    encoder = load_encoder(exported_dir, threads=2, cache_size=0)
    options = encoder._session.get_session_options()
    assert (options.intra_op_num_threads, options.inter_op_num_threads) == (2, 1)
    with pytest.raises(ValueError):
        load_encoder(exported_dir, threads=0)


def test_runtime_does_not_import_torch(exported_dir: Path) -> None:
    embed = f"from app.embedding import load_encoder; load_encoder({str(exported_dir)!r}).embed_query('hello')"
    assert modules_loaded_by(embed, ("torch", "transformers")) == []


def test_missing_model_dir_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir"
    with pytest.raises(ModelNotFoundError, match=re.escape(str(missing))) as caught:
        load_encoder(missing)
    assert "hybrid-search export-models" in str(caught.value)
    assert isinstance(caught.value, RuntimeError)
    with pytest.raises(ModelNotFoundError, match=re.escape(str(tmp_path / "model_card.json"))):
        load_encoder(tmp_path)  # exists, but no export in it


def test_missing_or_altered_onnx_file(exported_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("model_card.json", "tokenizer.json"):
        shutil.copyfile(exported_dir / name, copy / name)
    with pytest.raises(ModelNotFoundError, match=re.escape(str(copy / "model.int8.onnx"))):
        load_encoder(copy)
    shutil.copyfile(exported_dir / "model.fp32.onnx", copy / "model.int8.onnx")  # wrong bytes under the right name
    with pytest.raises(ModelIntegrityError, match="export-models"):
        load_encoder(copy)
    with pytest.raises(ValueError, match="variant"):
        load_encoder(exported_dir, variant="fp16")
    card = json.loads((copy / "model_card.json").read_text())
    assert card["files"]["int8"] != sha256_file(copy / "model.int8.onnx")
