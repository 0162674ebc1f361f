using System.Buffers;
using Microsoft.Win32.SafeHandles;

namespace Registry.Storage.FileSystem;

/// <summary>
/// Appends a request body to an upload file in 1 MiB pieces, receiving (and hashing) the next piece
/// while the previous one is written, so the network, the hash and the page-cache copy use both
/// cores instead of taking turns. Writeback starts every few MiB, so the fsync at commit finds
/// little left to write.
/// </summary>
internal static class UploadFileWriter
{
    private const int PieceSize = 1024 * 1024;
    private const long WritebackStep = 8 * 1024 * 1024;

    public static async Task<long> WriteAsync(SafeFileHandle handle, long offset, Stream source, CancellationToken cancellationToken)
    {
        var position = offset;
        var writebackFrom = offset;
        var current = ArrayPool<byte>.Shared.Rent(PieceSize);
        byte[]? spare = null;
        ValueTask writing = default;
        try
        {
            while (true)
            {
                var filled = await StreamFill.ReadAsync(source, current.AsMemory(0, PieceSize), cancellationToken);
                var previous = writing;
                writing = default;
                await previous;
                if (position - writebackFrom >= WritebackStep)
                {
                    Durability.StartWriteback(handle, writebackFrom, position - writebackFrom);
                    writebackFrom = position;
                }

                if (filled < PieceSize)
                {
                    return await FinishAsync(handle, current.AsMemory(0, filled), position, cancellationToken);
                }

                writing = RandomAccess.WriteAsync(handle, current.AsMemory(0, PieceSize), position, cancellationToken);
                position += PieceSize;
                spare ??= ArrayPool<byte>.Shared.Rent(PieceSize);
                (current, spare) = (spare, current);
            }
        }
        catch
        {
            await DrainAsync(writing);
            RandomAccess.SetLength(handle, offset);
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(current);
            if (spare is not null)
            {
                ArrayPool<byte>.Shared.Return(spare);
            }
        }
    }

    private static async Task<long> FinishAsync(SafeFileHandle handle, ReadOnlyMemory<byte> last, long position, CancellationToken cancellationToken)
    {
        if (!last.IsEmpty)
        {
            await RandomAccess.WriteAsync(handle, last, position, cancellationToken);
        }

        // Drops whatever an interrupted, unacknowledged chunk left past the end (only then: truncating
        // a file that is being written back makes the call wait for the disk).
        var end = position + last.Length;
        if (RandomAccess.GetLength(handle) != end)
        {
            RandomAccess.SetLength(handle, end);
        }

        return end;
    }

    /// <summary>Waits out a write whose chunk is being abandoned: its buffer must not go back to the pool while in use.</summary>
    private static async Task DrainAsync(ValueTask writing)
    {
        try
        {
            await writing;
        }
        catch (IOException)
        {
            // The chunk is cut back anyway.
        }
        catch (OperationCanceledException)
        {
            // Likewise.
        }
    }
}
