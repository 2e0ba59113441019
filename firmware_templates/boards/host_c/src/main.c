/* main.c - the host board's entry point: run the firmware loop until stdin ends (C99). */
int tm_main_setup(void);
int tm_main_loop_once(void);

int main(void) {
  if (tm_main_setup() != 0) return 1;
  while (tm_main_loop_once() == 0) {
  }
  return 0;
}
