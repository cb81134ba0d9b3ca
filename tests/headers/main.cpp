// tests/headers: the test is the build. Every public header was compiled on
// its own, in a translation unit that includes nothing else, and linked into
// this program; running it only confirms that the build got this far.
int main() { return 0; }
