<?php
// examples/hello: the smallest lambda-fpm app. Every request that is not a file in public/ (style.css is
// served by the bootstrap itself) arrives here, like behind nginx's try_files.
declare(strict_types=1);

$path = parse_url($_SERVER['REQUEST_URI'] ?? '/', PHP_URL_PATH) ?: '/';

if ($path === '/health') {
    header('Content-Type: application/json');
    echo json_encode(['ok' => true, 'php' => PHP_VERSION]);
    return;
}

if ($path !== '/') {
    http_response_code(404);
}

// Bref-compatible: the Lambda request context, as JSON, in $_SERVER.
$context = json_decode($_SERVER['LAMBDA_REQUEST_CONTEXT'] ?? 'null', true) ?: [];
$now = new DateTimeImmutable('now', new DateTimeZone('UTC'));
$e = static fn (string $s): string => htmlspecialchars($s, ENT_QUOTES);
?>
<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Hello from lambda-fpm</title>
  <link rel="stylesheet" href="/style.css">
</head>
<body>
  <main>
    <h1><?= $path === '/' ? 'Hello from lambda-fpm' : 'Not found' ?></h1>
    <p>PHP <?= $e(PHP_VERSION) ?> (<?= $e(PHP_SAPI) ?>) answered
      <code><?= $e($_SERVER['REQUEST_METHOD'] ?? 'GET') ?> <?= $e($_SERVER['REQUEST_URI'] ?? '/') ?></code>
      for <?= $e($_SERVER['REMOTE_ADDR'] ?? 'unknown') ?>.</p>
    <ul>
      <li>UTC: <?= $e($now->format('Y-m-d H:i:s')) ?></li>
      <li>Paris: <?= $e($now->setTimezone(new DateTimeZone('Europe/Paris'))->format('Y-m-d H:i:s T')) ?></li>
      <li>Function: <?= $e((string) getenv('AWS_LAMBDA_FUNCTION_NAME')) ?>
        (<?= $e((string) getenv('AWS_LAMBDA_FUNCTION_MEMORY_SIZE')) ?> MB)</li>
      <li>Request id: <?= $e((string) ($context['requestId'] ?? '-')) ?></li>
    </ul>
  </main>
</body>
</html>
