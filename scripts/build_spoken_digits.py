"""Build the spoken-digits dataset (zero..nine by espeak-ng, SC09-like) into the cache.

    python scripts/build_spoken_digits.py            # 1,440 clips, a minute or two on 2 cores
    python scripts/build_spoken_digits.py --size dense   # 10,080 clips (7 speeds x 6 pitches)
    python scripts/build_spoken_digits.py --small    # 80 clips, for a quick look

Needs espeak-ng (Debian/Ubuntu: apt-get install espeak-ng) and sparring-audio installed.
"""
import sys

from sparring_audio.spoken_digits import main

if __name__ == "__main__":
    sys.exit(main())
