def f(I):
    x1 = rbind(fill, ZERO)
    x2 = ofcolor(I, ONE)
    O = x1(I, x2)
    return O
