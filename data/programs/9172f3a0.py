# every cell becomes a 3x3 block
def solve_9172f3a0(I):
    O = upscale(I, THREE)
    return O
