from .grid_sample_deform_conv import GridSampleDeformConv2d, replace_deform_convs

__all__ = ['GridSampleDeformConv2d', 'replace_deform_convs']
