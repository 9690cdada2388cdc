# several solid rectangles, one has a hole: output its colour as a 1x1 grid
def solve_b9b7f026(I):
    x1 = objects(I, T, F, T)
    x2 = chain(positive, size, delta)
    x3 = extract(x1, x2)
    x4 = color(x3)
    O = canvas(x4, UNITY)
    return O
