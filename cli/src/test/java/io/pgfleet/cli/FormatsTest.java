package io.pgfleet.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Sizes as --split-threshold and --chunk-size take them: PostgreSQL's memory units, powers of 1024. */
class FormatsTest {
  @ParameterizedTest
  @CsvSource({
      "256MB, 268435456",
      "1GB, 1073741824",
      "64kB, 65536",
      "128, 128",
      "128B, 128",
      "1.5GB, 1610612736",
      "0.5MB, 524288",
      "256mb, 268435456",
      "256Mb, 268435456",
      "64KB, 65536",
      "64k, 65536",
      "256MiB, 268435456",
      "256mib, 268435456",
      "2GiB, 2147483648",
      "1TB, 1099511627776",
      "' 256 MB ', 268435456"})
  void parsesSizes(String text, long bytes) {
    assertThat(Formats.parseSize("--chunk-size", text)).isEqualTo(bytes);
  }

  @ParameterizedTest
  @ValueSource(strings = {"abc", "-1MB", "MB", "", "1e9", "12 parsecs", "1,5GB", "0x10", "1.MB"})
  void rejectsWhatIsNotASize(String text) {
    assertThatThrownBy(() -> Formats.parseSize("--split-threshold", text))
        .isExactlyInstanceOf(UserError.class)
        .hasMessage("--split-threshold '" + text + "' is not a size: give a number with a unit, e.g. 256MB or 1GB");
  }

  @ParameterizedTest
  @ValueSource(strings = {"0", "0MB", "0.5", "0.0001kB", "9999999TB"})
  void rejectsSizesOutOfRange(String text) {
    assertThatThrownBy(() -> Formats.parseSize("--chunk-size", text))
        .isExactlyInstanceOf(UserError.class)
        .hasMessage("--chunk-size '" + text + "' is out of range: give at least 1 byte, e.g. 256MB");
  }

  @Test
  void errorsAreOneLineNamingTheOption() {
    for (String bad : new String[] {"abc", "-1MB", "0"}) {
      assertThatThrownBy(() -> Formats.parseSize("--chunk-size", bad))
          .isInstanceOf(UserError.class)
          .hasMessageStartingWith("--chunk-size '" + bad + "' ")
          .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
      assertThat(Main.message(catchUserError(bad))).doesNotContain("unexpected");
    }
  }

  private static Throwable catchUserError(String bad) {
    try {
      Formats.parseSize("--chunk-size", bad);
    } catch (UserError e) {
      return e;
    }
    throw new AssertionError("no error for " + bad);
  }
}
