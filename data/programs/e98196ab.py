# two panels split by a grey line: overlay the bottom panel's shapes onto the top panel
def solve_e98196ab(I):
    x1 = tophalf(I)
    x2 = bottomhalf(I)
    x3 = fgpartition(x2)
    x4 = merge(x3)
    O = paint(x1, x4)
    return O
