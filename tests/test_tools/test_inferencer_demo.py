"""tools/bottomup_demo.py draws and writes the people MLN finds, per image, without boxes."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
MLN_SAMPLE_CONFIG = REPO_ROOT / 'configs/demo/paf_mln-vgg19-w16_1xb4-700e_coco-sample-256x256.py'


def test_bottomup_demo_on_the_sample_folder(train_on_sample, run_tool, repo_root, tmp_path):
    checkpoint = train_on_sample(MLN_SAMPLE_CONFIG)
    out_dir = tmp_path / 'vis'
    proc = run_tool([
        sys.executable, 'tools/bottomup_demo.py',
        str(MLN_SAMPLE_CONFIG),
        str(checkpoint), '--input', 'tests/data/coco', '--output-dir',
        str(out_dir), '--skeleton-style', 'openpose'
    ])
    images = sorted((repo_root / 'tests/data/coco').glob('*.jpg'))
    for image in images:
        assert (out_dir / image.name).stat().st_size > 0
        result = json.loads((out_dir / f'{image.stem}.json').read_text())
        assert result['image'] == image.name
        for person in result['people']:
            assert len(person['keypoints']) == 17 and len(person['keypoint_scores']) == 17
    found = sum(len(json.loads(p.read_text())['people']) for p in out_dir.glob('*.json'))
    assert found >= 6  # the sample has 12 annotated people; the fitted model finds most
    assert f'{len(images)} images written' in proc.stdout


def test_a_missing_input_is_named(run_tool, repo_root, tmp_path):
    """Before the (absent) checkpoint is read."""
    proc = subprocess.run([
        sys.executable, 'tools/bottomup_demo.py',
        str(MLN_SAMPLE_CONFIG), 'no.pth', '--input',
        str(tmp_path / 'nothing.jpg')
    ],
                          cwd=repo_root,
                          capture_output=True,
                          text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        f'error: {tmp_path / "nothing.jpg"}: --input does not exist')
