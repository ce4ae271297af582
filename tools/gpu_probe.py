"""Exit 0 when this environment's framework computes a convolution on GPU 0, else exit 1
with the reason on one line (called by tools/make_env.sh for the -gpu environments).

    python tools/gpu_probe.py TAB        (a tab of d2l/frameworks.py)

A convolution, because it needs the CUDA build's compiled kernels and cuDNN to work on this
GPU and driver, which importing the framework or counting GPUs does not show.
"""
import sys


def probe(framework):
    if framework == 'pytorch':
        import torch
        if not torch.cuda.is_available():
            raise RuntimeError('torch sees no GPU')
        x = torch.ones(1, 1, 8, 8, device='cuda')
        return torch.nn.functional.conv2d(x, torch.ones(1, 1, 3, 3, device='cuda')).sum().item()
    if framework == 'tensorflow':
        import tensorflow as tf
        if not tf.config.list_physical_devices('GPU'):
            raise RuntimeError('TensorFlow sees no GPU')
        with tf.device('/GPU:0'):
            y = tf.nn.conv2d(tf.ones((1, 8, 8, 1)), tf.ones((3, 3, 1, 1)), 1, 'VALID')
        return float(tf.reduce_sum(y))
    if framework == 'mxnet':
        from mxnet import np, npx
        if npx.num_gpus() < 1:
            raise RuntimeError('MXNet sees no GPU')
        x, w = np.ones((1, 1, 8, 8), ctx=npx.gpu(0)), np.ones((1, 1, 3, 3), ctx=npx.gpu(0))
        y = npx.convolution(x, w, kernel=(3, 3), num_filter=1, no_bias=True)
        return float(y.sum())
    raise ValueError(f'unknown framework {framework!r}')


if __name__ == '__main__':
    try:
        total = probe(sys.argv[1])
    except Exception as e:  # Any failure means: this build cannot use this GPU.
        sys.exit(' '.join(f'{type(e).__name__}: {e}'.split())[:300])
    # 36 windows of 9 ones each.
    sys.exit(0 if total == 324 else f'wrong result on the GPU: {total} instead of 324')
