def solve_a(I):
    O = vmirror(I)
    return O


def solve_b(I):
    x1 = vmirror(I)
    O = hconcat(I, x9)
    return O


def solve_c(I):
    O = hmirror(I)
    return O
