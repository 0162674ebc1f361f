using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Registry.Data.PostgreSql.Migrations
{
    /// <inheritdoc />
    public partial class EcrRepositories : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "EncryptionType",
                table: "Repositories",
                type: "character varying(16)",
                maxLength: 16,
                nullable: false,
                defaultValue: "AES256");

            migrationBuilder.AddColumn<string>(
                name: "ImageTagMutability",
                table: "Repositories",
                type: "character varying(16)",
                maxLength: 16,
                nullable: false,
                defaultValue: "MUTABLE");

            migrationBuilder.AddColumn<string>(
                name: "KmsKey",
                table: "Repositories",
                type: "text",
                nullable: true);

            migrationBuilder.AddColumn<bool>(
                name: "ScanOnPush",
                table: "Repositories",
                type: "boolean",
                nullable: false,
                defaultValue: false);

            migrationBuilder.CreateTable(
                name: "ResourceTags",
                columns: table => new
                {
                    ResourceArn = table.Column<string>(type: "character varying(512)", maxLength: 512, nullable: false),
                    Key = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false),
                    Value = table.Column<string>(type: "character varying(256)", maxLength: 256, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ResourceTags", x => new { x.ResourceArn, x.Key });
                });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "ResourceTags");

            migrationBuilder.DropColumn(
                name: "EncryptionType",
                table: "Repositories");

            migrationBuilder.DropColumn(
                name: "ImageTagMutability",
                table: "Repositories");

            migrationBuilder.DropColumn(
                name: "KmsKey",
                table: "Repositories");

            migrationBuilder.DropColumn(
                name: "ScanOnPush",
                table: "Repositories");
        }
    }
}
