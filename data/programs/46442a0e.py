# 2x2 arrangement of the grid under quarter turns (a rotationally symmetric pinwheel)
def solve_46442a0e(I):
    x1 = rot90(I)
    x2 = hconcat(I, x1)
    x3 = rot270(I)
    x4 = rot180(I)
    x5 = hconcat(x3, x4)
    O = vconcat(x2, x5)
    return O
