using System.Globalization;

namespace Registry.Storage.S3;

/// <summary>
/// The S3 store's record of an upload (the <see cref="UploadProgress.State"/> string): the piece size
/// and, for each piece in order, the nonce naming the object that holds it. Every piece is full except
/// the last. A write stores its pieces under a fresh nonce, so only the pieces this record names
/// hold acknowledged bytes; anything else under the upload's prefix is debris of failed or
/// concurrent writes, removed with the upload.
/// </summary>
internal sealed record UploadPieces(int PieceSize, IReadOnlyList<string> Nonces)
{
    public static UploadPieces Parse(string? state, int defaultPieceSize)
    {
        if (string.IsNullOrEmpty(state))
        {
            return new UploadPieces(defaultPieceSize, []);
        }

        var separator = state.IndexOf(';', StringComparison.Ordinal);
        if (separator < 0 || !int.TryParse(state.AsSpan(0, separator), NumberStyles.None, CultureInfo.InvariantCulture, out var pieceSize) || pieceSize <= 0)
        {
            throw new FormatException($"malformed S3 upload state '{state}'");
        }

        return new UploadPieces(pieceSize, state[(separator + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries));
    }

    public string Format() => PieceSize.ToString(CultureInfo.InvariantCulture) + ";" + string.Join(' ', Nonces);

    /// <summary>Length of piece <paramref name="index"/> in an upload of <paramref name="length"/> bytes.</summary>
    public int LengthOf(int index, long length) => (int)Math.Min(PieceSize, length - ((long)index * PieceSize));
}
