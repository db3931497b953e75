"""What shapes an export's files and card: opset, parity floors, the int8 recipe, the texts.

Why the int8 recipe is more than ``quantize_dynamic(per_channel=True)``:
measured on an AVX2 (no VNNI) host, plain per-channel QInt8 gives a mean cosine
of ~0.992 but ~0.97 on very short inputs ("Thanks!", "Ok") and ~0.989 on some
ordinary sentences. Three changes bring the worst case above 0.99:

1. SmoothQuant (Xiao et al., 2022): divide each quantised Linear's input
   channels by ``s = max|x|^α / max|W|^(1-α)`` and multiply the weight's
   matching columns by ``s``. The function is unchanged; activation outliers
   (BERT has a few huge channels) move into the per-channel-quantised weights,
   so the per-tensor dynamic activation scale keeps its resolution.
2. ``reduce_range`` (7-bit weights): on AVX2 the u8×s8 kernel sums pairs of
   products in int16 (VPMADDUBSW) and saturates; 7-bit weights cannot.
3. The FFN down-projections (1536→384, fed by GELU outputs with the widest
   range) stay fp32: in a per-Linear sensitivity scan (quantise one, measure
   the worst cosine) they were four of the five most damaging.

Together: worst cosine 0.994, mean 0.998 over the parity sentences (see the
card). The padding token matters too; see :class:`app.embedding.Encoder`.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

OPSET = 17
#: Bumped when the card's layout changes; an older card means "export again".
CARD_SCHEMA = 2

#: Parity floors: worst cosine to PyTorch over the parity sentences, both paths.
FP32_MIN_COSINE = 0.9999
INT8_MIN_COSINE = 0.99

#: How ``model.int8.onnx`` is made (the module docstring says why).
INT8_RECIPE: dict[str, Any] = {
    "method": "onnxruntime.quantization.quantize_dynamic",
    "weight_type": "QInt8",
    "per_channel": True,
    "reduce_range": True,
    "smoothquant_alpha": 0.5,
    # Linear sub-modules of each BERT layer; the ones not quantised stay fp32.
    "quantized_linears": [
        "attention.self.query",
        "attention.self.key",
        "attention.self.value",
        "attention.output.dense",
        "intermediate.dense",
    ],
    "fp32_linears": ["output.dense"],
}

#: Real, varied English for the parity check: queries (some very short, the
#: hardest case for int8), sentences, and long passages (one beyond 256 tokens,
#: to exercise truncation).
PARITY_SENTENCES: tuple[str, ...] = (
    "Thanks!",
    "pricing",
    "Ok",
    "how do I reset my password",
    "cheap flights to lisbon in may",
    "What is the capital of Australia?",
    "The cat sat quietly on the warm windowsill.",
    "Quarterly revenue grew by 12 percent, driven by cloud subscriptions.",
    "The Treaty of Westphalia ended the Thirty Years' War in 1648.",
    "Preheat the oven to 200 degrees and bake the bread for twenty minutes.",
    "Kubernetes schedules pods onto nodes according to their resource requests.",
    "She whispered that the last train had already left the station.",
    "Inflation expectations remain anchored despite the recent energy price shock.",
    "Refunds are processed within five to seven business days.",
    "Our API returns a 429 status code when the rate limit is exceeded.",
    "The defendant pleaded not guilty to all charges.",
    "I can't believe how quickly the summer went by!",
    "Vaccines train the immune system to recognise specific pathogens.",
    "Error: connection refused while connecting to the database on port 5432.",
    "The novel explores memory, loss and redemption in post-war Japan.",
    "Water boils at 100 degrees Celsius at sea level.",
    "Which sorting algorithms run in O(n log n) time on a linked list?",
    "The quarterback threw a sixty-yard touchdown pass in the final minute.",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "Please attach a copy of your invoice to the support ticket.",
    "Jazz emerged in New Orleans in the early twentieth century, blending blues, ragtime and brass band music.",
    "Solar panels convert sunlight directly into electricity using photovoltaic cells, and their output "
    "falls sharply when dust or shade covers even a small part of the surface.",
    "The committee will reconvene next Tuesday to finalise the budget proposal for the coming fiscal year, "
    "after which its recommendations go to the board for approval. Members are asked to review the attached "
    "documents, including the revised revenue forecasts, the capital expenditure plan and the staffing "
    "projections, and to send written comments by Friday so that they can be worked into the final draft.",
    "Glaciers form where, over many years, more snow falls in winter than melts in summer. The accumulated "
    "snow compacts into firn and then into dense glacial ice, which begins to flow under its own weight. "
    "As a glacier moves it plucks and grinds the rock beneath it, carving U-shaped valleys, cirques and "
    "fjords, and it deposits the debris it carries as moraines when it finally retreats. Because glaciers "
    "respond to changes in both temperature and precipitation, their advance and retreat over the past "
    "century is one of the clearest records of a warming climate. Scientists measure mass balance by "
    "comparing the snow gained at high elevations with the ice lost to melting and calving lower down, "
    "using stakes drilled into the surface, repeated GPS surveys, airborne laser altimetry and satellite "
    "gravimetry. Many mountain glaciers in the Alps, the Andes and the Himalaya have lost a large share of "
    "their volume since the 1970s, with consequences for water supplies, hydropower and sea level. The "
    "loss also changes how much sunlight the surface reflects, which can speed up further melting.",
    "Hash tables give average constant-time lookups by mapping each key to a bucket.",
)

#: Separate text for the SmoothQuant activation statistics (not the parity set,
#: so the gate measures sentences the recipe was not fitted on).
CALIBRATION_TEXTS: tuple[str, ...] = (
    "Hi",
    "shipping cost to canada",
    "Where can I find my order history?",
    "Machine learning models need large amounts of labelled data.",
    "The city council approved the new zoning plan on Wednesday.",
    "Add two cups of flour and stir until the batter is smooth.",
    "The stock market fell sharply after the central bank's announcement.",
    "Rainforests are home to more than half of the world's plant and animal species.",
    "Restart the router and try connecting again.",
    "The orchestra performed Beethoven's Ninth Symphony to a sold-out hall.",
    "Thank you for your patience while we investigate the issue.",
    "yes",
    "The ancient city of Petra was carved into rose-coloured sandstone cliffs by the Nabataeans more than two "
    "thousand years ago, and it remained a major trading hub until the Romans annexed it.",
    "To rotate an access key, create the new key, deploy it everywhere it is used, confirm that nothing still "
    "signs requests with the old key, and only then deactivate and delete the old one.",
    "Symptoms include fever, a dry cough and fatigue; most patients recover within two weeks.",
    "Is the museum open on public holidays?",
)


def recipe_hash() -> str:
    """Everything here that shapes the output files or their card (read at call time)."""
    recipe = {
        "schema": CARD_SCHEMA,
        "opset": OPSET,
        "int8": INT8_RECIPE,
        "floors": [FP32_MIN_COSINE, INT8_MIN_COSINE],
        "parity": PARITY_SENTENCES,
        "calibration": CALIBRATION_TEXTS,
    }
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()
