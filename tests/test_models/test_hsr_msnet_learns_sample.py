"""HSR-MSNet (quarter width, from scratch) must be able to fit the 4 COCO sample images."""
import json
import sys


def test_hsr_msnet_fits_the_sample_with_ground_truth_boxes(sample_checkpoint, demo_config, run_tool,
                                                           tmp_path):
    out = tmp_path / 'metrics.json'
    run_tool([sys.executable, 'tools/test.py', str(demo_config), str(sample_checkpoint),
              '--work-dir', str(tmp_path), '--out', str(out),
              '--cfg-options', 'test_dataloader.dataset.bbox_file=None'])
    metrics = json.loads(out.read_text())
    assert metrics['coco/AP'] >= 0.8, metrics
