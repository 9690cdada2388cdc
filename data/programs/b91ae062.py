# upscale the grid by the number of non-black colours it contains
def solve_b91ae062(I):
    x1 = palette(I)
    x2 = remove(ZERO, x1)
    x3 = size(x2)
    O = upscale(I, x3)
    return O
