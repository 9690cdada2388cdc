# every coloured cell drips down to the bottom: per object, shoot its cells downward in its colour
def solve_d037b0a7(I):
    x1 = objects(I, T, F, T)
    x2 = rbind(shoot, DOWN)
    x3 = lbind(mapply, x2)
    x4 = compose(x3, toindices)
    x5 = fork(recolor, color, x4)
    x6 = mapply(x5, x1)
    O = underpaint(I, x6)
    return O
