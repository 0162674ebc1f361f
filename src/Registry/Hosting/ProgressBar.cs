using System.Diagnostics;
using System.Globalization;

namespace Registry.Hosting;

/// <summary>
/// A one-line progress bar for a terminal (<c>checking [#####.....]  52%  1.2 GiB of 2.3 GiB, 120/230 blobs</c>),
/// redrawn at most ten times a second and cleared when done. Commands use it only when the stream is a
/// terminal, so logs and pipes never get it.
/// </summary>
internal sealed class ProgressBar(TextWriter terminal, string label) : IDisposable
{
    /// <summary>Reports on the caller's thread (<see cref="Progress{T}"/> would post them, after the bar is gone).</summary>
    public IProgress<T> Reporter<T>(Func<T, (long Done, long Total, string Detail)> describe) => new Synchronous<T>(value =>
    {
        var (done, total, detail) = describe(value);
        Show(done, total, detail);
    });

    private const int Width = 30;
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    private readonly object _gate = new();
    private long _lastDrawn = Stopwatch.GetTimestamp() - Stopwatch.Frequency;
    private bool _drawn;

    public void Show(long done, long total, string detail)
    {
        lock (_gate)
        {
            if (done < total && Stopwatch.GetElapsedTime(_lastDrawn) < Interval)
            {
                return;
            }

            _lastDrawn = Stopwatch.GetTimestamp();
            var fraction = total <= 0 ? 1 : Math.Clamp((double)done / total, 0, 1);
            var filled = (int)Math.Round(fraction * Width);
            terminal.Write(string.Create(CultureInfo.InvariantCulture,
                $"\r{label} [{new string('#', filled)}{new string('.', Width - filled)}] {(int)(fraction * 100),3}%  {detail}\u001b[K"));
            terminal.Flush();
            _drawn = true;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_drawn)
            {
                terminal.Write("\r\u001b[K");
                terminal.Flush();
                _drawn = false;
            }
        }
    }

    /// <summary>A size as people read it: 1.2 GiB.</summary>
    public static string Bytes(long bytes) => bytes switch
    {
        >= 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):0.0} GiB"),
        >= 1L << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):0.0} MiB"),
        >= 1L << 10 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 10):0.0} KiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes} B"),
    };

    private sealed class Synchronous<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
