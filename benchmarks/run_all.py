"""Run every benchmark in turn (``bash run.sh bench``); each prints its own table."""
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ["bench_recipe.py", "bench_recipe_torch.py", "bench_speed.py", "bench_preprocess.py", "bench_drawings.py"]

if __name__ == "__main__":
    failed = 0
    for script in SCRIPTS:
        print(f"\n=== {script}", flush=True)
        failed += subprocess.call([sys.executable, str(HERE / script)], cwd=HERE) != 0
    sys.exit(1 if failed else 0)
