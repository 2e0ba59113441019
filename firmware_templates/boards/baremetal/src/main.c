/* main.c - entry point of the bare-metal firmware; the Makefile builds it three ways (C99).
 *
 *   build/firmware.elf  the firmware: the app's main loop on the HAL's sensor, events on UART0
 *   build/check.elf     -DTM_DEVICE_CHECK: the same main loop on the test samples compiled in
 *                       (tm_testdata.c), with a trace of every inference and the measured
 *                       instruction counts and stack (tm_device_check.c); exits when done
 *   build/serial.elf    -DTM_DEVICE_SERIAL: the serial line protocol of `tinyml validate` and
 *                       `tinyml capture` (tm_serial.c, docs/boards.md)
 */
int tm_main_setup(void);
int tm_main_loop_once(void);

#if defined(TM_DEVICE_CHECK)
void tm_device_check_begin(void);
int tm_device_check_end(int setup_status);

int main(void) {
  int status;
  tm_device_check_begin();
  status = tm_main_setup();
  if (status == 0) {
    while (tm_main_loop_once() == 0) {
    }
  }
  return tm_device_check_end(status);
}
#elif defined(TM_DEVICE_SERIAL)
int tm_serial_main(void);

int main(void) { return tm_serial_main(); }
#else
int main(void) {
  if (tm_main_setup() != 0) return 1;
  for (;;) tm_main_loop_once();
}
#endif
