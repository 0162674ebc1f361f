using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using Registry.Agent.Images;

namespace Registry.Tests.Agent;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class LayerApplierTests : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("layers-").FullName;

    private string Root => Path.Combine(_work, "root");

    public void Dispose() => Directory.Delete(_work, recursive: true);

    private static byte[] Layer(Action<TarWriter> write, string compression = "gzip")
    {
        var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            write(writer);
        }

        var output = new MemoryStream();
        switch (compression)
        {
            case "gzip":
                using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
                {
                    gzip.Write(tar.ToArray());
                }

                break;
            case "zstd":
                using (var zstd = new ZstdSharp.CompressionStream(output, leaveOpen: true))
                {
                    zstd.Write(tar.ToArray());
                }

                break;
            default:
                output.Write(tar.ToArray());
                break;
        }

        return output.ToArray();
    }

    private static void File(TarWriter writer, string name, string text, UnixFileMode mode = (UnixFileMode)0b110_100_100) =>
        writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(text)), Mode = mode });

    private static void Dir(TarWriter writer, string name) =>
        writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, name) { Mode = (UnixFileMode)0b111_101_101 });

    private static void Link(TarWriter writer, TarEntryType type, string name, string target) =>
        writer.WriteEntry(new PaxTarEntry(type, name) { LinkName = target });

    private Task ApplyAsync(byte[] layer) => LayerApplier.ApplyAsync(Root, new MemoryStream(layer), CancellationToken.None);

    private string Read(string relative) => System.IO.File.ReadAllText(Path.Combine(Root, relative));

    private bool Exists(string relative) => Path.Exists(Path.Combine(Root, relative)) || new FileInfo(Path.Combine(Root, relative)).LinkTarget is not null;

    [Theory]
    [InlineData("gzip")]
    [InlineData("zstd")]
    [InlineData("none")]
    public async Task Files_directories_modes_and_links_are_laid_down(string compression)
    {
        await ApplyAsync(Layer(
            w =>
            {
                Dir(w, "bin/");
                File(w, "bin/tool", "#!/bin/sh\n", (UnixFileMode)0b111_101_101 | UnixFileMode.SetUser);
                Link(w, TarEntryType.SymbolicLink, "bin/sh", "tool");
                Link(w, TarEntryType.HardLink, "bin/tool-again", "bin/tool");
                File(w, "./etc/deep/config", "key=value");
            },
            compression));

        Assert.Equal("#!/bin/sh\n", Read("bin/tool"));
        Assert.Equal((UnixFileMode)0b111_101_101 | UnixFileMode.SetUser, System.IO.File.GetUnixFileMode(Path.Combine(Root, "bin/tool")));
        Assert.Equal("tool", new FileInfo(Path.Combine(Root, "bin/sh")).LinkTarget);
        Assert.Equal("key=value", Read("etc/deep/config"));

        await System.IO.File.WriteAllTextAsync(Path.Combine(Root, "bin/tool"), "changed");
        Assert.Equal("changed", Read("bin/tool-again"));
    }

    [Fact]
    public async Task A_whiteout_removes_what_a_lower_layer_put_there()
    {
        await ApplyAsync(Layer(w =>
        {
            File(w, "etc/keep", "1");
            File(w, "etc/drop", "2");
            Dir(w, "var/cache/");
            File(w, "var/cache/a", "3");
        }));

        await ApplyAsync(Layer(w =>
        {
            File(w, "etc/.wh.drop", "");
            File(w, "var/.wh.cache", "");
        }));

        Assert.True(Exists("etc/keep"));
        Assert.False(Exists("etc/drop"));
        Assert.False(Exists("var/cache"));
        Assert.False(Exists("etc/.wh.drop"));
    }

    [Fact]
    public async Task An_opaque_directory_hides_lower_entries_but_keeps_its_own_in_any_order()
    {
        await ApplyAsync(Layer(w =>
        {
            File(w, "app/old", "lower");
            File(w, "app/sub/older", "lower");
            File(w, "other/stays", "lower");
        }));

        await ApplyAsync(Layer(w =>
        {
            File(w, "app/new", "upper");
            File(w, "app/.wh..wh..opq", "");
            File(w, "app/sub/newer", "upper");
        }));

        Assert.Equal("upper", Read("app/new"));
        Assert.Equal("upper", Read("app/sub/newer"));
        Assert.False(Exists("app/old"));
        Assert.False(Exists("app/sub/older"));
        Assert.True(Exists("other/stays"));
    }

    [Fact]
    public async Task A_later_layer_replaces_a_file_with_a_directory_and_a_link_with_a_file()
    {
        await ApplyAsync(Layer(w =>
        {
            File(w, "thing", "file");
            Link(w, TarEntryType.SymbolicLink, "link", "/etc/shadow");
        }));

        await ApplyAsync(Layer(w =>
        {
            Dir(w, "thing/");
            File(w, "link", "plain now");
        }));

        Assert.True(Directory.Exists(Path.Combine(Root, "thing")));
        Assert.Null(new FileInfo(Path.Combine(Root, "link")).LinkTarget);
        Assert.Equal("plain now", Read("link"));
    }

    [Theory]
    [InlineData("../outside")]
    [InlineData("a/../../outside")]
    public async Task Entries_outside_the_root_are_refused(string name)
    {
        await Assert.ThrowsAsync<LayerException>(() => ApplyAsync(Layer(w => File(w, name, "x"))));

        Assert.False(Path.Exists(Path.Combine(_work, "outside")));
    }

    [Fact]
    public async Task Writing_through_a_link_that_points_outside_stays_inside_the_root()
    {
        Directory.CreateDirectory(Path.Combine(_work, "host"));

        await ApplyAsync(Layer(w =>
        {
            Link(w, TarEntryType.SymbolicLink, "relative", "../../host");
            Link(w, TarEntryType.SymbolicLink, "absolute", _work + "/host");
            File(w, "relative/planted", "r");
            File(w, "absolute/planted", "a");
        }));

        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(_work, "host")));
        Assert.Equal("r", Read("host/planted"));
        Assert.Equal("a", System.IO.File.ReadAllText(Path.Combine(Root, _work.TrimStart('/'), "host/planted")));
    }

    [Fact]
    public async Task A_hard_link_to_a_missing_file_or_outside_the_root_is_refused()
    {
        await Assert.ThrowsAsync<LayerException>(() => ApplyAsync(Layer(w => Link(w, TarEntryType.HardLink, "link", "not/there"))));
        await Assert.ThrowsAsync<LayerException>(() => ApplyAsync(Layer(w => Link(w, TarEntryType.HardLink, "link", "../../etc/passwd"))));
    }

    [Fact]
    public async Task A_damaged_layer_is_refused()
    {
        var damaged = Layer(w => File(w, "a", new string('x', 10_000)))[..40];

        await Assert.ThrowsAsync<LayerException>(() => ApplyAsync(damaged));
    }

    /// <summary>As root the owners in the layer are kept, a link's own (not its target's), and setuid survives the change of owner.</summary>
    [SkippableFact]
    public async Task As_root_owners_are_kept_and_setuid_survives()
    {
        Skip.IfNot(Environment.IsPrivilegedProcess, "changing owners needs root");
        await ApplyAsync(Layer(w =>
        {
            w.WriteEntry(new PaxTarEntry(TarEntryType.Directory, "home/app") { Mode = (UnixFileMode)0b111_101_101, Uid = 1000, Gid = 1000 });
            w.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "bin/su") { DataStream = new MemoryStream([1, 2, 3]), Mode = (UnixFileMode)0b100_111_101_101, Uid = 0, Gid = 42 });
            w.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "home/app/data") { DataStream = new MemoryStream([4]), Mode = (UnixFileMode)0b110_100_000, Uid = 1000, Gid = 1001 });
            w.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, "home/app/link") { LinkName = "/bin/su", Uid = 7, Gid = 8 });
        }));

        Assert.Equal("1000:1000:755", await StatAsync("home/app"));
        Assert.Equal("0:42:4755", await StatAsync("bin/su"));
        Assert.Equal("1000:1001:640", await StatAsync("home/app/data"));
        Assert.Equal("7:8:777", await StatAsync("home/app/link"));
    }

    /// <summary>Owner, group and mode of the entry itself (stat does not follow links without -L).</summary>
    private async Task<string> StatAsync(string relative)
    {
        using var stat = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("stat", ["-c", "%u:%g:%a", Path.Combine(Root, relative)]) { RedirectStandardOutput = true })!;
        var output = await stat.StandardOutput.ReadToEndAsync();
        await stat.WaitForExitAsync();
        return output.Trim();
    }
}
