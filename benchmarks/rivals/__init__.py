"""The benchmark's rivals to the kernel (A): the vectorised NumPy version of the rules (B) and the bare numba loop
over the same random draws (D). Not part of the installed package."""
