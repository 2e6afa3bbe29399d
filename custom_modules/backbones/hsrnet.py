# Copyright (c) OpenMMLab. All rights reserved.
"""HSRNet and HSR-MSNet: high spatial resolution backbones for top-down pose
estimation."""
import copy
import inspect
from typing import Sequence

import torch.nn as nn
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmengine.model import constant_init, initialize
from mmpose.models.backbones.resnet import Bottleneck, ResLayer, ResNet
from mmpose.registry import MODELS
from mmpose.utils.typing import ConfigType

from .msnet_block import MSNetBlock
from .pretrained_init import pretrained_set_aside

# mmpose's ResNet's default ``init_cfg`` (Kaiming convs, unit norms)
RESNET_INIT = inspect.signature(ResNet).parameters['init_cfg'].default


@MODELS.register_module()
class HSRNet(ResNet):
    """HSRNet / HSR-MSNet backbone (HSR-MSNet paper, Sec. 3.2-3.3, Fig. 5-7).

    ResNet's stem and its first stages up to stride 16 (``conv2_x`` ..
    ``conv4_x``) are kept and ResNet's last stage is replaced by two new stages
    that do not downsample (DetNet): their 3x3 convs have dilation 2, the first
    block of each ("bottleneck C") has a 1x1 projection shortcut, the others
    ("bottleneck D") an identity shortcut. The output stride stays 16 while the
    receptive field keeps growing.

    ``block='msnet'`` makes it HSR-MSNet: the blocks of the ResNet stages
    become :class:`MSNetBlock` (Res2Net-style subgroups, an extra 3x3 conv,
    per-subgroup stride-2 convs and an SE block); the two dilated stages keep
    plain bottlenecks.

    Stages, for ``out_indices`` (input ``(N, 3, H, W)``)::

        index  stage            blocks (59/110/161)  output
        0      conv2_x          3 / 3 / 3            (N, 256,  H/4,  W/4)
        1      conv3_x          4 / 4 / 8            (N, 512,  H/8,  W/8)
        2      conv4_x          6 / 23 / 36          (N, 1024, H/16, W/16)
        3      dilated stage 5  3                    (N, C,    H/16, W/16)
        4      dilated stage 6  3                    (N, C,    H/16, W/16)

    Depths count like ResNet's: ``1 + 3 * (blocks of all five stages) + 1``
    gives 59 (DetNet-59), 110 and 161 from the ResNet-50 / 101 / 152 stages.

    ``C = dilated_stage_channels`` defaults to 1024 (bottleneck width 256), as
    the DetNet-59 code that the HSR-MSNet paper initialises from
    (guoruoqian/DetNet_pytorch) builds it: DetNet "keeps the same channels as
    stage 4", and DetNet-59's ImageNet weights load only into that width.
    (One Keras port uses 256 output channels; pass 256 for that.) The paper's
    "HSRNet has more parameters than ResNet in comparable size of backbone"
    (Sec. 4.3.1) fits no DetNet width: HSRNet-59's backbone has 17.35 M
    parameters with ``C = 1024``, 41.09 M with 2048, ResNet-50's 23.51 M.

    Args:
        depth (int): 59, 110 or 161.
        block (str): ``'bottleneck'`` (HSRNet) or ``'msnet'`` (HSR-MSNet).
            Defaults to ``'bottleneck'``.
        dilated_stage_channels (int): Output channels ``C`` of the two dilated
            stages. Defaults to 1024.
        dilated_stage_blocks (Sequence[int]): Blocks in each dilated stage.
            Defaults to (3, 3).
        dilation (int): Dilation of the dilated stages' 3x3 convs. Defaults to
            2.
        msnet_cfg (dict): ``scales``, ``base_width`` and ``se_ratio`` of
            :class:`MSNetBlock`. Defaults to ``dict(scales=4, base_width=22,
            se_ratio=16)``: 4 subgroups as Res2Net-50, 22 wide per 64 planes so
            that HSR-MSNet-59 has HSRNet-59's parameter count.
        out_indices (Sequence[int]): Stages whose outputs are returned.
            Defaults to ``(4, )``.
        frozen_stages (int): Freeze the stem and stages up to this index + 1
            (-1: none).
        **kwargs: Other arguments of mmpose's :class:`ResNet`
            (``stem_channels``, ``base_channels``, ``norm_cfg``,
            ``norm_eval``, ``with_cp``, ``init_cfg``, ...).
    """

    arch_settings = {
        59: (Bottleneck, (3, 4, 6)),
        110: (Bottleneck, (3, 4, 23)),
        161: (Bottleneck, (3, 8, 36)),
    }
    block_types = ('bottleneck', 'msnet')

    def __init__(self,
                 depth: int,
                 block: str = 'bottleneck',
                 dilated_stage_channels: int = 1024,
                 dilated_stage_blocks: Sequence[int] = (3, 3),
                 dilation: int = 2,
                 msnet_cfg: ConfigType = dict(
                     scales=4, base_width=22, se_ratio=16),
                 out_indices: Sequence[int] = (4, ),
                 frozen_stages: int = -1,
                 **kwargs) -> None:
        if depth not in self.arch_settings:
            raise KeyError(
                f'HSRNet depth must be one of {sorted(self.arch_settings)}, '
                f'got {depth}')
        if block not in self.block_types:
            raise ValueError(
                f'HSRNet block must be one of {self.block_types}, got '
                f'{block!r}')
        self.block_type = block
        self.msnet_cfg = copy.deepcopy(msnet_cfg)
        super().__init__(
            depth=depth,
            num_stages=3,
            strides=(1, 2, 2),
            dilations=(1, 1, 1),
            out_indices=(2, ),
            frozen_stages=-1,
            **kwargs)

        num_stages = 3 + len(dilated_stage_blocks)
        if not out_indices or not all(0 <= i < num_stages
                                      for i in out_indices):
            raise ValueError(
                f'HSRNet out_indices must lie in [0, {num_stages - 1}], '
                f'got {out_indices}')
        if not -1 <= frozen_stages <= num_stages:
            raise ValueError(
                f'HSRNet frozen_stages must lie in [-1, {num_stages}], '
                f'got {frozen_stages}')
        in_channels = self.feat_dim
        for i, num_blocks in enumerate(dilated_stage_blocks):
            layer_name = f'layer{4 + i}'
            self.add_module(
                layer_name,
                self._make_dilated_stage(num_blocks, in_channels,
                                         dilated_stage_channels, dilation))
            self.res_layers.append(layer_name)
            in_channels = dilated_stage_channels
        self.num_stages = num_stages
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.feat_dim = dilated_stage_channels
        self._freeze_stages()

    def make_res_layer(self, **kwargs) -> nn.Module:
        """A ResNet stage; with ``block='msnet'`` its blocks are
        :class:`MSNetBlock`."""
        if self.block_type == 'msnet':
            kwargs.update(block=MSNetBlock, **self.msnet_cfg)
        return ResLayer(**kwargs)

    def _make_dilated_stage(self, num_blocks: int, in_channels: int,
                            out_channels: int, dilation: int) -> nn.Sequential:
        """Bottleneck C (projection shortcut), then bottlenecks D (identity);
        stride 1."""
        projection = nn.Sequential(
            build_conv_layer(
                self.conv_cfg,
                in_channels,
                out_channels,
                kernel_size=1,
                bias=False),
            build_norm_layer(self.norm_cfg, out_channels)[1])
        blocks = []
        for i in range(num_blocks):
            blocks.append(
                Bottleneck(
                    in_channels=in_channels if i == 0 else out_channels,
                    out_channels=out_channels,
                    expansion=4,
                    stride=1,
                    dilation=dilation,
                    downsample=projection if i == 0 else None,
                    style=self.style,
                    with_cp=self.with_cp,
                    conv_cfg=self.conv_cfg,
                    norm_cfg=self.norm_cfg))
        return nn.Sequential(*blocks)

    def init_weights(self) -> None:
        """ResNet's initialisation (``init_cfg``; with ``zero_init_residual``
        the last norm of each residual and MSNet block at zero); with a
        ``Pretrained`` entry, the other entries (where there are none, ResNet's
        default: Kaiming convs, unit norms) first, then the checkpoint loaded
        over the layers it has (non-strict).

        mmpose's ResNet skips its own initialisation when it loads a
        checkpoint, which would leave the layers the checkpoint lacks at
        PyTorch's defaults: the dilated stages of HSRNet-110/161 (loaded from
        torchvision's ResNet-101/152) and the MSNet blocks of HSR-MSNet (loaded
        from DetNet-59 or a ResNet, whose stem, projection shortcuts and
        dilated stages fit).
        """
        if self.is_init:  # mmengine warns and leaves the weights
            super().init_weights()
            return
        with pretrained_set_aside(self, RESNET_INIT) as pretrained:
            super().init_weights()
        if self.zero_init_residual:
            for m in self.modules():
                if isinstance(m, MSNetBlock):
                    constant_init(m.norm3, 0)
        if pretrained:
            initialize(self, pretrained)
