"""Image-quality metrics and the papers' evaluation protocols."""
from sr_lib.metrics.protocols import PROTOCOLS, Protocol, check_scale, get_protocol, list_protocols
from sr_lib.metrics.psnr_ssim import psnr, quantize_255, rgb_to_y, ssim

__all__ = ["psnr", "ssim", "rgb_to_y", "quantize_255", "Protocol", "PROTOCOLS", "get_protocol",
           "list_protocols", "check_scale"]
