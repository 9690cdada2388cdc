# rows whose two end cells have the same colour are filled with that colour (compare with the mirror image)
def solve_22eb0ac0(I):
    x1 = vmirror(I)
    x2 = cellwise(I, x1, ZERO)
    x3 = objects(x2, T, F, T)
    x4 = compose(hfrontier, center)
    x5 = fork(recolor, color, x4)
    x6 = mapply(x5, x3)
    O = paint(I, x6)
    return O
