#!/usr/bin/env bash
# eval_golden.sh — regenerates the scorer golden cases in testdata/eval/ (inputs from tools/eval_fixtures.py,
# expected outputs from the oracles). Run from the repository root with the oracle venv's python:
#   PY=/work/venv/bin/python tools/eval_golden.sh
set -euo pipefail
PY="${PY:-python3} -W ignore"
D=${DATA:-../shared/data}
T=testdata/eval
$PY tools/eval_fixtures.py --data "$D" --out $T
# The 1000 real COCO captions (object extraction only; their images are not among the annotated 100).
$PY -c "import json,sys; [print(json.dumps({'id': i, 'image_id': c['image_id'], 'caption': c['caption']})) for i, c in enumerate(json.load(open(sys.argv[1])))]" \
    "$D/coco_eval/captions_val2014_fakecap_results.json" > /tmp/lpoi_chair_real.jsonl
$PY tools/chair_reference.py --captions /tmp/lpoi_chair_real.jsonl --out $T/chair_real_captions.golden.jsonl
for set in responses hard; do
    $PY tools/chair_reference.py --captions $T/chair_$set.jsonl --instances "$D/coco_eval/instances_val2014_100.json" \
        --gt-captions $T/chair_gt_captions.json --out $T/chair_$set.golden.jsonl --metrics $T/chair_$set.metrics.json
done
# AMBER: generative answers for all 1,004 images, and every seventh discriminative question.
$PY tools/amber_reference.py --data "$D/amber" --inference $T/amber_responses.json --evaluation_type g \
    --out $T/amber_responses.golden.jsonl --metrics $T/amber_responses.metrics.json > /dev/null
$PY tools/amber_reference.py --data "$D/amber" --inference $T/amber_disc.json --evaluation_type d \
    --metrics $T/amber_disc.metrics.json > /dev/null
# The tokenizer on 800 random strings of tricky pieces.
$PY tools/tokenizer_golden.py $T/tokenizer_random.golden.jsonl
# CHAIR's Object HalBench variant (RLHF-V rule-based path, refined synonyms) on the same sets.
$PY tools/chair_reference.py --variant rlhfv --synonyms "$D/chair/synonyms_refine_rlhfv.txt" --captions /tmp/lpoi_chair_real.jsonl \
    --out $T/chair_rlhfv_real_captions.golden.jsonl
for set in responses hard; do
    $PY tools/chair_reference.py --variant rlhfv --synonyms "$D/chair/synonyms_refine_rlhfv.txt" --captions $T/chair_$set.jsonl \
        --instances "$D/coco_eval/instances_val2014_100.json" --gt-captions $T/chair_gt_captions.json \
        --out $T/chair_rlhfv_$set.golden.jsonl --metrics $T/chair_rlhfv_$set.metrics.json
done
