# mirror the grid into a 2x2 kaleidoscope (right: mirrored copy, bottom: flipped copy)
def solve_3af2c5a8(I):
    x1 = vmirror(I)
    x2 = hconcat(I, x1)
    x3 = hmirror(x2)
    O = vconcat(x2, x3)
    return O
