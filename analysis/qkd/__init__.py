"""QKD post-processing: sifting, estimation, decoy bounds, Cascade, verification,
privacy amplification, key rates and the key store.

Import the submodules you need (``from analysis.qkd import cascade``); this
package imports nothing heavy itself, so ``import analysis.qkd`` is cheap and the
numba kernels compile only when reconciliation is first used.
"""
