using System.Runtime.InteropServices;
using Registry.Hosting;

namespace Registry.Tests.Hosting;

public sealed class NativeHeapTests
{
    private const int Pieces = 1024;
    private const int PieceSize = 64 * 1024;

    [SkippableFact]
    public void A_trim_returns_freed_native_memory_to_the_system()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "glibc's malloc_trim");
        var ones = Enumerable.Repeat((byte)1, PieceSize).ToArray();
        var pieces = new nint[Pieces];
        for (var i = 0; i < Pieces; i++)
        {
            pieces[i] = Marshal.AllocHGlobal(PieceSize);
            Marshal.Copy(ones, 0, pieces[i], PieceSize);
        }

        // The last piece stays allocated, so the freed ones lie below it: only a trim can give them back.
        for (var i = 0; i < Pieces - 1; i++)
        {
            Marshal.FreeHGlobal(pieces[i]);
        }

        try
        {
            var before = ResidentAnonymousBytes();
            NativeHeap.Trim();
            var released = before - ResidentAnonymousBytes();
            Assert.True(released > Pieces * PieceSize / 2, $"the trim released {released} bytes of the {(Pieces - 1) * PieceSize} freed");
        }
        finally
        {
            Marshal.FreeHGlobal(pieces[^1]);
        }
    }

    private static long ResidentAnonymousBytes()
    {
        var line = File.ReadLines("/proc/self/status").Single(l => l.StartsWith("RssAnon:", StringComparison.Ordinal));
        return long.Parse(line["RssAnon:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }
}
