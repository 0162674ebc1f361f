using System.Buffers;
using Microsoft.Win32.SafeHandles;

namespace Registry.Storage.FileSystem;

/// <summary>
/// Appends a request body to an upload file in 1 MiB pieces, receiving (and hashing) the next piece
/// while the previous one is written, so the network, the hash and the page-cache copy use both
/// cores instead of taking turns. Writeback starts every few MiB, so the fsync at commit finds
/// little left to write. The first piece is small: most blobs of an image (configs, small layers)
/// fit in it and never take a 1 MiB buffer, which would live on the large object heap and, pooled
/// by every thread that pushes, hold a megabyte each long after the push.
/// </summary>
internal static class UploadFileWriter
{
    private const int FirstPieceSize = 64 * 1024;
    private const int PieceSize = 1024 * 1024;
    private const long WritebackStep = 8 * 1024 * 1024;

    public static async Task<long> WriteAsync(SafeFileHandle handle, long offset, Stream source, CancellationToken cancellationToken)
    {
        var position = offset;
        var writebackFrom = offset;
        var current = ArrayPool<byte>.Shared.Rent(FirstPieceSize);
        var pieceSize = FirstPieceSize;
        var carried = 0;
        byte[]? spare = null;
        ValueTask writing = default;
        try
        {
            while (true)
            {
                var filled = carried + await StreamFill.ReadAsync(source, current.AsMemory(carried, pieceSize - carried), cancellationToken);
                carried = 0;
                var previous = writing;
                writing = default;
                await previous;
                if (position - writebackFrom >= WritebackStep)
                {
                    Durability.StartWriteback(handle, writebackFrom, position - writebackFrom);
                    writebackFrom = position;
                }

                if (filled < pieceSize)
                {
                    return await FinishAsync(handle, current.AsMemory(0, filled), position, writebackFrom, cancellationToken);
                }

                if (pieceSize == FirstPieceSize)
                {
                    // The first piece is full: one byte more says whether large pieces are needed at all.
                    var next = new byte[1];
                    if (await source.ReadAsync(next, cancellationToken) == 0)
                    {
                        return await FinishAsync(handle, current.AsMemory(0, filled), position, writebackFrom, cancellationToken);
                    }

                    writing = RandomAccess.WriteAsync(handle, current.AsMemory(0, pieceSize), position, cancellationToken);
                    position += pieceSize;
                    spare = current;
                    current = ArrayPool<byte>.Shared.Rent(PieceSize);
                    current[0] = next[0];
                    carried = 1;
                    pieceSize = PieceSize;
                    continue;
                }

                writing = RandomAccess.WriteAsync(handle, current.AsMemory(0, PieceSize), position, cancellationToken);
                position += PieceSize;
                if (spare!.Length < PieceSize)
                {
                    // The small first piece has been written; a large one takes its place.
                    ArrayPool<byte>.Shared.Return(spare);
                    spare = ArrayPool<byte>.Shared.Rent(PieceSize);
                }

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

    private static async Task<long> FinishAsync(SafeFileHandle handle, ReadOnlyMemory<byte> last, long position, long writebackFrom, CancellationToken cancellationToken)
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

        // The rest of this chunk goes to the disk now too: otherwise the last few MiB of every chunk of
        // a chunked upload would wait, dirty, for the fsync at commit, which then writes them all at once.
        Durability.StartWriteback(handle, writebackFrom, end - writebackFrom);
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
