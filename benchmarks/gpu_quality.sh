#!/usr/bin/env bash
# The quality benchmarks side by side on one lent GPU machine, for a fixed budget.
#
# A lent GPU comes with many CPU cores and a few minutes: one process per run, each on
# one core and the one GPU, each run's training ended by its time limit (the rows record
# the steps reached). Results, logs, sample grids and audio/MIDI land in $OUT/quality.tar.gz
# (refreshed every 30 s, so a killed call still returns what finished).
#
#   MINUTES=5 bash benchmarks/gpu_quality.sh            # on the GPU machine
#   DEVICE=cpu MINUTES=0.05 QUICK=1 bash benchmarks/gpu_quality.sh   # check it here
#   ONLY="mnist-sngan-ada text-oracle" MINUTES=5 bash benchmarks/gpu_quality.sh   # some runs
#   ONLY="text-oracle text-coco" MINUTES=3 T_MLE=0.8 T_ADV=2.2 bash benchmarks/gpu_quality.sh
#       # text only, with its MLE and adversarial minutes set apart (else 35 % and 50 % of MINUTES)
#
# Processes on one GPU take turns (time slices, not side by side), so fewer runs each get
# more of it: ONLY names the runs to start (the names below; all when unset).
#
# Carried in (see /work/.library/device/README.md): .whl/ (this project's wheels and the
# packages that machine lacks) and .devcache/ (SPARRING_CACHE: the trained classifiers,
# the oracle, the chorale rolls, the spoken digits; coco/ holds the COCO captions split).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
MINUTES=${MINUTES:-5}
DEVICE=${DEVICE:-cuda}
OUT=${OUT:-/tmp/gpu-quality-out}
WORK=${WORK:-/tmp/gpu-quality}
PY=${PY:-python3}
mkdir -p "$OUT" "$WORK"

if [ -d .whl ] && [ "$DEVICE" = cuda ]; then
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        || { echo "wheel install failed"; exit 1; }
    export PYTHONPATH=/tmp/site
fi
[ -d .devcache ] && export SPARRING_CACHE="$ROOT/.devcache"
COCO=${COCO:-$ROOT/.devcache/coco}
[ -d "$COCO" ] || COCO=$ROOT/../shared/data/coco_captions
export OMP_NUM_THREADS=1 PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
"$PY" -c "import torch, sparring, sparring_image, sparring_text, sparring_audio; print('torch', torch.__version__, \
torch.cuda.get_device_name() if torch.cuda.is_available() else 'no GPU')" 2>&1 | tee "$WORK/env.txt"
nvidia-smi >> "$WORK/env.txt" 2>&1

# GPU runs: the whole step as one CUDA graph where named (GRAPH); fp32 everywhere, as on
# the CPU rows; losses read every 100 steps.
GPU=(--set trainer.precision=fp32 --set trainer.log_every=100 --set trainer.sample_every=10000)
[ "$DEVICE" = cuda ] && GRAPH=(--set trainer.cuda_graph=true) || GRAPH=()
[ -n "${QUICK:-}" ] && GPU+=(--set generator.channels=8 --set discriminator.channels=8 --eval-samples 200)
DEEP=(--recipes stacked-pacdcgan2-deep --set trainer.lr_d=1e-4)

want() {  # is this run among those ONLY names (or is ONLY unset)?
    [ -z "${ONLY:-}" ] || [[ " $ONLY " == *" $1 "* ]]
}
image() {  # name, then benchmark arguments
    local name=$1; shift
    want "$name" || return 0
    $PY benchmarks/image.py --steps 1000000 --time-limit "$MINUTES" "${GPU[@]}" "$@" \
        --results "$WORK/image-$name.jsonl" --keep "$WORK/runs-$name" > "$WORK/$name.log" 2>&1
}
image deep-graph "${DEEP[@]}" "${GRAPH[@]}" &
image deep-w64-graph "${DEEP[@]}" --set generator.channels=64 --set discriminator.channels=64 "${GRAPH[@]}" &
image deep-128k-graph "${DEEP[@]}" --set dataset.num_samples=128000 "${GRAPH[@]}" &
image deep-gsteps2 "${DEEP[@]}" --set trainer.g_steps=2 &
image deep-eager "${DEEP[@]}" &
image two-stage-graph --recipes stacked-pacdcgan2 "${GRAPH[@]}" &
image mnist-dcgan-diffaug --recipes dcgan+diffaug &
image mnist-sngan-ada --recipes sngan+ada &
# The same as one CUDA graph a step (its two D updates and ADA captured): eager, this
# recipe is bound by the host (about 70 ms a step on an H200).
image mnist-sngan-ada-graph --recipes sngan+ada "${GRAPH[@]}" &

# Text: the RelGAN discriminator at the paper's size; MLE then 3,000 adversarial steps (the
# temperature schedule spans them), each phase capped in time.
# The adversarial phase gets the larger share: MLE reaches SeqGAN's MLE row within two
# minutes on a GPU (docs/benchmarks.md), the goals are about what comes after it.
# T_MLE and T_ADV (minutes) override the shares. Every run measures along the adversarial
# phase too (--eval-every), so one run shows where on the temperature schedule each metric moves.
T_MLE=${T_MLE:-$(awk "BEGIN {print $MINUTES * 0.35}")}
T_ADV=${T_ADV:-$(awk "BEGIN {print $MINUTES * 0.5}")}
# RelGAN's D (its code: dis_emb_dim 64 split over num_rep 64) is 64 representations of ONE
# dimension each, read by 300 filters per width: --num-rep 64 --d-embed-dim 1 here, where
# --d-embed-dim is per representation (rows before 2026-12-04 used 64 x 64, 64 times wider).
TEXT=(--device "$DEVICE" --precision fp32 --mle-minutes "$T_MLE" --adv-minutes "$T_ADV"
      --num-rep 64 --d-embed-dim 1 --num-filters 300)
ORACLE=(--only oracle --pretrain-steps 23000 --samples 1000 --adv-steps 3000 --eval-every 250)
# COCO: 2,000 adversarial steps (RelGAN's COCO runs are shorter than its oracle runs), BLEU
# costs seconds a point on the host, so fewer points.
COCO_ARGS=(--only coco --pretrain-steps 20000 --embed-dim 64 --hidden-dim 256 --samples 500 --adv-steps 2000
           --eval-every 500 --coco-root "$COCO")
# The recipe that met the oracle goal on the CPU (docs/benchmarks.md, 2026-12-05): Adam 1e-3,
# beta over a fixed 5,000 steps (so it stays below 1.5), 400 adversarial steps.
FIXED_SPAN=(--lr-adv 1e-3 --anneal-steps 5000 --adv-steps 400 --eval-every 50)
if [ -n "${QUICK:-}" ]; then
    FIXED_SPAN+=(--adv-steps 4 --eval-every 2)
    TEXT+=(--num-rep 2 --num-filters 8 --hidden-dim 16)
    ORACLE+=(--adv-steps 4 --pretrain-steps 5 --samples 50 --eval-every 2)
    COCO_ARGS+=(--adv-steps 4 --pretrain-steps 5 --samples 50 --eval-every 2)
fi
text() {  # name, then benchmark arguments
    local name=$1; shift
    want "$name" || return 0
    $PY benchmarks/text.py "$@" "${TEXT[@]}" --json "$WORK/$name.jsonl" > "$WORK/$name.log" 2>&1
}
text text-oracle "${ORACLE[@]}" &
# RelGAN's oracle recipe as near as we have it: five D steps a G step, beta annealed over a
# fixed 5,000 steps (ends near 16 at 3,000), a 256-wide G (its RMC is 2 heads x 256; ours an LSTM).
text text-oracle-relgan "${ORACLE[@]}" --n-critic 5 --anneal-steps 5000 --hidden-dim 256 &
text text-oracle-fixed-span "${ORACLE[@]}" "${FIXED_SPAN[@]}" &   # the CPU recipe with RelGAN's D
text text-coco "${COCO_ARGS[@]}" &
text text-coco-b1000 "${COCO_ARGS[@]}" --beta-max 1000 &

# Music and sound: MuseGAN on the chorales, SpecGAN on the spoken digits.
AUDIO=(--device "$DEVICE" --precision fp32 --minutes "$MINUTES")
[ -n "${QUICK:-}" ] && AUDIO+=(--music-channels 32 --dim 4 --music-samples 50 --audio-samples 20 --n-critic 1)
# MuseGAN with one note per voice on an eighth-note grid, nearest time upsampling, packing
# 2, D's onset stream and WGAN-GP with 5 critic steps: the CPU trial whose pitch classes,
# note lengths and variety match the chorales' (docs/benchmarks.md, "Music on the CPU").
MUSIC=(--set generator.monophonic=true --set generator.time_upsample=nearest --set generator.note_grid=2
       --set trainer.pack=2 --set trainer.loss=wasserstein --set trainer.regularizer=gp
       --set discriminator.onset_stream=true --set trainer.n_critic=5)
want music && $PY benchmarks/audio.py --only music "${AUDIO[@]}" "${MUSIC[@]}" --out "$WORK/audio-music" > "$WORK/music.log" 2>&1 &
# SpecGAN at the paper's width with the CPU trials' best recipe (docs/benchmarks.md, "A weaker
# R1"): non-saturating loss, R1 at weight 1, one D step a G step. On the standard 1,440 clips:
# the dense set (124 MB) is more than a device call carries. Also scored with D's pick of the
# best half of 1,000 clips ("Letting D pick"), beside the plain row. Sampled from an EMA of G
# with a half-life of 50,000 samples ("More steps, a longer EMA, top-k training": +0.02 to
# +0.03 over 2,000 for the same G on the CPU).
SPEC=(--n-critic 1 --set trainer.loss=ns --set trainer.regularizer=r1 --set trainer.reg_weight=1
      --set trainer.ema_halflife=50000 --d-keep 0.5)
want specgan && $PY benchmarks/audio.py --only specgan "${AUDIO[@]}" "${SPEC[@]}" --out "$WORK/audio-specgan" \
    > "$WORK/specgan.log" 2>&1 &

pack() {  # everything but checkpoints, into one file (the device returns at most 8)
    tar -czf "$OUT/.quality.tar.gz" -C "$WORK" --exclude='*.pt' . && mv "$OUT/.quality.tar.gz" "$OUT/quality.tar.gz"
}
while [ -n "$(jobs -r)" ]; do
    sleep 30
    nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader >> "$WORK/gpu-util.txt" 2>&1
    pack
done
pack
cat "$WORK"/image-*.jsonl 2>/dev/null
tail -n 3 "$WORK"/*.log
