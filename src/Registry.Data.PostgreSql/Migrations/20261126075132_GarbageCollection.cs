using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Registry.Data.PostgreSql.Migrations
{
    /// <inheritdoc />
    public partial class GarbageCollection : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<DateTime>(
                name: "TouchedAt",
                table: "Manifests",
                type: "timestamp with time zone",
                nullable: false,
                defaultValue: new DateTime(1, 1, 1, 0, 0, 0, 0, DateTimeKind.Unspecified));

            migrationBuilder.AddColumn<bool>(
                name: "Deleting",
                table: "Blobs",
                type: "boolean",
                nullable: false,
                defaultValue: false);

            migrationBuilder.AddColumn<DateTime>(
                name: "TouchedAt",
                table: "Blobs",
                type: "timestamp with time zone",
                nullable: false,
                defaultValue: new DateTime(1, 1, 1, 0, 0, 0, 0, DateTimeKind.Unspecified));

            // Rows from before collection existed start their grace period from when they were made.
            migrationBuilder.Sql("UPDATE \"Blobs\" SET \"TouchedAt\" = \"CreatedAt\"");
            migrationBuilder.Sql("UPDATE \"Manifests\" SET \"TouchedAt\" = \"CreatedAt\"");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "TouchedAt",
                table: "Manifests");

            migrationBuilder.DropColumn(
                name: "Deleting",
                table: "Blobs");

            migrationBuilder.DropColumn(
                name: "TouchedAt",
                table: "Blobs");
        }
    }
}
