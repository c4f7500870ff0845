/* The "unikernel" that hello-shell:kernel builds (into out/hello.hvt). */
int main(void) { return 0; }
