using System.Globalization;
using System.Text;
using System.Text.Json;
using Registry.Agent.Images;

namespace Registry.Agent.Runtimes;

/// <summary>
/// A runc container's log, rotated as Docker's json-file driver rotates it: <c>container.log</c> grows to
/// the task's <c>max-size</c> log option (10m by default), then becomes <c>container.log.1</c> (the older
/// ones shift up), keeping <c>max-file</c> files (3 by default). conmon (2.1) writes the log and, at
/// max-size, replaces it with a new empty file: it truncates rather than rotates. So the agent keeps a
/// second hard link (<c>container.log.held</c>) to the file conmon writes; once conmon has replaced it,
/// the held file is the full previous generation, and the next check moves it to <c>.1</c> and holds the
/// new one. The policy is kept in the bundle, so a restarted agent rotates on.
/// </summary>
internal sealed record RuncLogs(long MaxBytes, int MaxFiles)
{
    public const string FileName = "container.log";
    private const string PolicyFile = "log-rotation.json";
    private const string HeldSuffix = ".held";

    private static readonly RuncLogs Default = new(10L * 1024 * 1024, 3);

    /// <summary>The policy from the task's log options (<c>max-size</c> as 512k, 10m, 1g or bytes; <c>max-file</c>).</summary>
    public static RuncLogs From(IReadOnlyDictionary<string, string> options)
    {
        var size = options.TryGetValue("max-size", out var givenSize) ? ParseSize(givenSize) : Default.MaxBytes;
        var files = Default.MaxFiles;
        if (options.TryGetValue("max-file", out var givenFiles) && (!int.TryParse(givenFiles, NumberStyles.None, CultureInfo.InvariantCulture, out files) || files < 1))
        {
            throw new ImagePullException($"CannotStartContainerError: log option max-file must be a positive integer, not '{givenFiles}'");
        }

        return new RuncLogs(size, files);
    }

    /// <summary>Writes the policy and creates the log, held from its first line (conmon appends to an existing file).</summary>
    public void Prepare(string bundle)
    {
        File.WriteAllText(Path.Combine(bundle, PolicyFile), JsonSerializer.Serialize(this));
        var log = Path.Combine(bundle, FileName);
        File.WriteAllBytes(log, []);
        PosixFile.TryLink(log, log + HeldSuffix);
    }

    /// <summary>Keeps the generation conmon replaced, if it has, and holds the new one.</summary>
    public static void Rotate(string bundle)
    {
        var policyPath = Path.Combine(bundle, PolicyFile);
        var log = Path.Combine(bundle, FileName);
        var held = log + HeldSuffix;
        if (!File.Exists(policyPath) || PosixFile.Inode(log) is not { } current || PosixFile.Inode(held) == current
            || JsonSerializer.Deserialize<RuncLogs>(File.ReadAllText(policyPath)) is not { } policy)
        {
            return;
        }

        if (File.Exists(held))
        {
            for (var i = policy.MaxFiles - 1; i > 1; i--)
            {
                if (File.Exists($"{log}.{i - 1}"))
                {
                    File.Move($"{log}.{i - 1}", $"{log}.{i}", overwrite: true);
                }
            }

            if (policy.MaxFiles > 1)
            {
                File.Move(held, log + ".1", overwrite: true);
            }
            else
            {
                File.Delete(held);
            }
        }

        PosixFile.TryLink(log, held);
    }

    /// <summary>The last <paramref name="maxBytes"/> bytes of the log, reaching into the previous file when the current one is short.</summary>
    public static async Task<string> TailAsync(string bundle, int maxBytes, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        var needed = (long)maxBytes;
        foreach (var path in new[] { Path.Combine(bundle, FileName), Path.Combine(bundle, FileName + ".1") })
        {
            if (needed <= 0 || !File.Exists(path))
            {
                break;
            }

            await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var start = Math.Max(0, file.Length - needed);
            file.Seek(start, SeekOrigin.Begin);
            using var reader = new StreamReader(file);
            var chunk = await reader.ReadToEndAsync(cancellationToken);

            // A cut line at the start of the window is dropped rather than shown half.
            text.Insert(0, start > 0 && chunk.IndexOf('\n', StringComparison.Ordinal) is var newline and >= 0 ? chunk[(newline + 1)..] : chunk);
            needed -= file.Length;
        }

        return text.ToString();
    }

    private static long ParseSize(string text)
    {
        var trimmed = text.Trim().ToLowerInvariant().TrimEnd('b');
        var unit = trimmed.Length > 0 ? trimmed[^1] : ' ';
        var multiplier = unit switch { 'k' => 1024L, 'm' => 1024L * 1024, 'g' => 1024L * 1024 * 1024, _ => 1L };
        var digits = multiplier == 1 ? trimmed : trimmed[..^1];
        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < 1 || value > long.MaxValue / multiplier)
        {
            throw new ImagePullException($"CannotStartContainerError: log option max-size must be a size such as 512k, 10m or 1g, not '{text}'");
        }

        return value * multiplier;
    }
}
