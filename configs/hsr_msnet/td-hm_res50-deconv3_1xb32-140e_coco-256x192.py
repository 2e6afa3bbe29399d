# SimpleBaseline ResNet-50 with 3x3 deconv kernels, the baseline of Table 1's
# deconv-kernel ablation (three deconv layers, stride 32 -> 4), on the paper's
# schedule.
_base_ = ['./td-hm_res50_1xb32-140e_coco-256x192.py']

model = dict(head=dict(deconv_kernel_sizes=(3, 3, 3)))
