using Registry.Agent.Runtimes;

namespace Registry.Tests.Agent;

public sealed class RuncLogsTests : IDisposable
{
    private readonly string _bundle = Directory.CreateTempSubdirectory("bundle-").FullName;

    private string Log => Path.Combine(_bundle, RuncLogs.FileName);

    public void Dispose() => Directory.Delete(_bundle, recursive: true);

    [Theory]
    [InlineData("512k", 512L * 1024)]
    [InlineData("10m", 10L * 1024 * 1024)]
    [InlineData("1g", 1024L * 1024 * 1024)]
    [InlineData("2MB", 2L * 1024 * 1024)]
    [InlineData("4096", 4096L)]
    public void Max_size_takes_docker_units(string given, long bytes) =>
        Assert.Equal(new RuncLogs(bytes, 5), RuncLogs.From(new Dictionary<string, string> { ["max-size"] = given, ["max-file"] = "5" }));

    [Fact]
    public void Without_options_the_log_keeps_three_files_of_10_MiB() =>
        Assert.Equal(new RuncLogs(10L * 1024 * 1024, 3), RuncLogs.From(new Dictionary<string, string>()));

    [Theory]
    [InlineData("max-size", "ten")]
    [InlineData("max-size", "-1m")]
    [InlineData("max-size", "0")]
    [InlineData("max-size", "99999999999999999g")]
    [InlineData("max-file", "0")]
    [InlineData("max-file", "x")]
    public void A_bad_option_stops_the_container_from_starting_with_the_reason(string option, string value)
    {
        var error = Assert.Throws<ImagePullException>(() => RuncLogs.From(new Dictionary<string, string> { [option] = value }));

        Assert.StartsWith("CannotStartContainerError: log option " + option, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Each_log_conmon_replaces_moves_up_keeping_max_file_files()
    {
        new RuncLogs(10, 3).Prepare(_bundle);
        File.AppendAllText(Log, "first\n");
        foreach (var generation in new[] { "second", "third", "fourth" })
        {
            ConmonReplacesTheLog(generation);
            RuncLogs.Rotate(_bundle);
        }

        Assert.Equal("fourth\n", File.ReadAllText(Log));
        Assert.Equal("third\n", File.ReadAllText(Log + ".1"));
        Assert.Equal("second\n", File.ReadAllText(Log + ".2"));
        Assert.False(File.Exists(Log + ".3"));
    }

    [Fact]
    public void A_log_conmon_still_writes_stays_where_it_is()
    {
        new RuncLogs(1024, 3).Prepare(_bundle);
        File.AppendAllText(Log, "short\n");

        RuncLogs.Rotate(_bundle);

        Assert.Equal("short\n", File.ReadAllText(Log));
        Assert.False(File.Exists(Log + ".1"));
    }

    [Fact]
    public void With_one_file_the_replaced_log_is_let_go()
    {
        new RuncLogs(4, 1).Prepare(_bundle);
        File.AppendAllText(Log, "old\n");
        ConmonReplacesTheLog("new");

        RuncLogs.Rotate(_bundle);

        Assert.Equal("new\n", File.ReadAllText(Log));
        Assert.Equal([RuncLogs.FileName, RuncLogs.FileName + ".held"], Directory.GetFiles(_bundle, RuncLogs.FileName + "*").Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal("new\n", File.ReadAllText(Log + ".held"));
    }

    /// <summary>What conmon 2.1 does at max-size: a new file renamed over the log.</summary>
    private void ConmonReplacesTheLog(string firstLine)
    {
        File.WriteAllText(Log + ".tmp", firstLine + "\n");
        File.Move(Log + ".tmp", Log, overwrite: true);
    }

    [Fact]
    public async Task The_tail_reaches_into_the_previous_file_and_never_shows_half_a_line()
    {
        File.WriteAllText(Log + ".1", "old one\nold two\n");
        File.WriteAllText(Log, "new\n");

        Assert.Equal("old two\nnew\n", await RuncLogs.TailAsync(_bundle, 14, CancellationToken.None));
        Assert.Equal("old one\nold two\nnew\n", await RuncLogs.TailAsync(_bundle, 1000, CancellationToken.None));
        Assert.Equal("new\n", await RuncLogs.TailAsync(_bundle, 4, CancellationToken.None));
    }
}
