# HSRNet-59 with 2x2 deconv kernels (Table 1, the deconv-kernel ablation; the
# default is 4).
_base_ = ['./td-hm_hsrnet-59_1xb32-140e_coco-256x192.py']

model = dict(head=dict(deconv_kernel_sizes=(2, 2)))
