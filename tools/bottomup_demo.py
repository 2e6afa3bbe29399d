"""Bottom-up and single-stage pose estimation (MLN, OpenPose, SMPR) on images, a folder or a video.

No person detector: the model finds every person's keypoints in the whole image (grouping them, or
regressing whole poses).
Each input gets its drawn picture and a JSON of the people found in ``--output-dir``, written as
soon as it is done.

    python tools/bottomup_demo.py configs/mln/paf_mln-vgg19_1xb28-100e_coco-368x368.py MLN_CKPT \\
        --input demo.jpg

The same through mmpose's own API::

    MMPoseInferencer(pose2d=MLN_CONFIG, pose2d_weights=MLN_CKPT)
"""
import argparse
from pathlib import Path


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Bottom-up pose estimation')
    parser.add_argument('pose_config', help='bottom-up pose config of this project')
    parser.add_argument('pose_checkpoint', help='pose checkpoint (path or URL)')
    parser.add_argument('--input', required=True, help='an image, a folder of images or a video')
    parser.add_argument('--output-dir', default='work_dirs/bottomup_demo', help='where results go')
    parser.add_argument('--kpt-thr', type=float, default=0.1, help='keypoint score to draw')
    parser.add_argument('--skeleton-style', default='mmpose', choices=['mmpose', 'openpose'],
                        help='draw COCO\'s skeleton or OpenPose\'s (with the neck)')
    parser.add_argument('--device', default='cpu', help='e.g. cpu or cuda:0')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    from mmpose.apis import inference_bottomup, init_model
    from mmpose.registry import VISUALIZERS

    from custom_modules.apis import read_frames, write_people

    source = Path(args.input)
    if not source.exists():  # before the minutes a model may take to load
        raise FileNotFoundError(f'--input {source} does not exist')
    out_dir = Path(args.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = init_model(args.pose_config, args.pose_checkpoint, device=args.device)
    visualizer = VISUALIZERS.build(model.cfg.visualizer)
    visualizer.set_dataset_meta(model.dataset_meta, skeleton_style=args.skeleton_style)

    count = 0
    for name, image in read_frames(source):
        result = inference_bottomup(model, image)[0]
        out_image = out_dir / f'{Path(name).stem}.jpg'
        visualizer.add_datasample(
            name, image[..., ::-1], data_sample=result, draw_gt=False, draw_bbox=False,
            kpt_thr=args.kpt_thr, skeleton_style=args.skeleton_style, show=False,
            out_file=str(out_image))
        pred = result.pred_instances
        people = [
            dict(keypoints=keypoints.tolist(), keypoint_scores=scores.tolist(), score=float(score))
            for keypoints, scores, score in zip(pred.keypoints, pred.keypoint_scores,
                                                pred.bbox_scores)
        ]
        write_people(out_dir / f'{Path(name).stem}.json', name, image, people)
        count += 1
        print(f'{name}: {len(people)} people -> {out_image}')
    print(f'{count} images written to {out_dir}')


if __name__ == '__main__':
    main()
