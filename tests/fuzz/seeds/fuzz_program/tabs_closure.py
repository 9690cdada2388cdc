def f(I):
	x1 = compose(vmirror, hmirror)
	O = x1(I, I)
	return O
def g(S, I, C):
    """doc"""
    x1 = first(S)  # c
    x2 = power(x1, TWO,)
    return x2
