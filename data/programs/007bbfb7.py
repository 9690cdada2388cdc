# 3x3 -> 9x9: each coloured cell becomes a copy of the input; tile the input 3x3 and keep it where the 3x upscale is coloured
def solve_007bbfb7(I):
    x1 = upscale(I, THREE)
    x2 = hconcat(I, I)
    x3 = hconcat(x2, I)
    x4 = vconcat(x3, x3)
    x5 = vconcat(x4, x3)
    O = cellwise(x1, x5, ZERO)
    return O
