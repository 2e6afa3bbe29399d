# The paper's baseline, OpenPose (Cao et al., CVPR 2017): the same trunk, data,
# losses, schedule and grouping as MLN, with six two-branch stages (7x7
# refinement stages) as the head.
_base_ = ['./paf_mln-vgg19_1xb28-100e_coco-368x368.py']

model = dict(head=dict(type='OpenPoseHead'))
