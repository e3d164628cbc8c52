<?php
// The app layer-build/test-layer.sh runs from a read-only /var/task inside an empty root holding nothing but
// the layer. Each path answers JSON about one thing the layer must provide; the test asserts the values.

declare(strict_types=1);

$path = parse_url($_SERVER['REQUEST_URI'] ?? '/', PHP_URL_PATH);

function out(array $data): void
{
    header('Content-Type: application/json');
    echo json_encode($data, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE);
}

function attempt(callable $f): mixed
{
    try {
        return $f();
    } catch (Throwable $e) {
        return 'EXCEPTION ' . get_class($e) . ': ' . $e->getMessage();
    }
}

switch ($path) {
    case '/':
        header('Content-Type: text/html; charset=utf-8');
        echo '<!doctype html><title>lambda-fpm layer</title><h1>Hello from PHP ' . PHP_VERSION . '</h1>';
        break;

    case '/date':
        $utc = new DateTimeImmutable('2024-07-01 12:00:00', new DateTimeZone('UTC'));
        out([
            'default' => date_default_timezone_get(),
            'paris' => attempt(fn () => $utc->setTimezone(new DateTimeZone('Europe/Paris'))->format('c')),
            'new_york_winter' => attempt(fn () => (new DateTimeImmutable('2024-01-15 12:00:00', new DateTimeZone('UTC')))
                ->setTimezone(new DateTimeZone('America/New_York'))->format('c')),
            'tokyo' => attempt(fn () => $utc->setTimezone(new DateTimeZone('Asia/Tokyo'))->format('Y-m-d H:i T')),
            'identifiers' => count(timezone_identifiers_list()),
            'tz_version' => timezone_version_get(),
            'strtotime' => date('Y-m-d', strtotime('2024-02-28 +1 day')),
        ]);
        break;

    case '/text':
        out([
            // glibc's built-in converters
            'latin1' => bin2hex(iconv('UTF-8', 'ISO-8859-1', 'é')),
            // these need gconv modules from the layer
            'latin9_euro' => bin2hex((string) @iconv('UTF-8', 'ISO-8859-15', '€')),
            'shift_jis' => bin2hex((string) @iconv('UTF-8', 'SHIFT_JIS', '日本')),
            'ascii_translit' => (string) @iconv('UTF-8', 'ASCII//TRANSLIT', 'Ærøskøbing'),
            'mb_upper' => mb_strtoupper('ärger'),
            'locale_c_utf8' => setlocale(LC_ALL, 'C.UTF-8'),
            'intl_number' => attempt(fn () => (new NumberFormatter('de_DE', NumberFormatter::DECIMAL))->format(1234567.891)),
            'intl_date' => attempt(fn () => (new IntlDateFormatter('fr_FR', IntlDateFormatter::LONG, IntlDateFormatter::NONE, 'Europe/Paris'))
                ->format(new DateTimeImmutable('2024-07-14 12:00:00 UTC'))),
            'intl_collator' => attempt(function () {
                $words = ['Zebra', 'Äpfel', 'apple'];
                (new Collator('de_DE'))->sort($words);
                return implode(',', $words);
            }),
            'intl_translit' => attempt(fn () => transliterator_transliterate('Any-Latin; Latin-ASCII', 'Привет')),
            'icu_version' => INTL_ICU_VERSION,
        ]);
        break;

    case '/db':
        out([
            'memory' => attempt(function () {
                $db = new PDO('sqlite::memory:', null, null, [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
                $db->exec('CREATE TABLE t (name TEXT)');
                $db->prepare('INSERT INTO t VALUES (?)')->execute(['héllo']);
                return $db->query('SELECT name FROM t')->fetchColumn();
            }),
            'file' => attempt(function () {
                $file = sys_get_temp_dir() . '/layer-test.sqlite';
                $db = new PDO('sqlite:' . $file, null, null, [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
                $db->exec('CREATE TABLE IF NOT EXISTS hits (at INTEGER)');
                $db->exec('INSERT INTO hits VALUES (' . time() . ')');
                return (int) $db->query('SELECT COUNT(*) FROM hits')->fetchColumn() >= 1 ? 'ok' : 'empty';
            }),
            'sqlite3' => attempt(fn () => (new SQLite3(':memory:'))->querySingle('SELECT sqlite_version()')),
            'drivers' => PDO::getAvailableDrivers(),
        ]);
        break;

    case '/session':
        session_start();
        $_SESSION['visits'] = ($_SESSION['visits'] ?? 0) + 1;
        out(['visits' => $_SESSION['visits'], 'save_path' => session_save_path(), 'id_length' => strlen(session_id())]);
        break;

    case '/tls':
        $ca = ini_get('curl.cainfo') ?: '';
        $bundle = is_readable($ca) ? (string) file_get_contents($ca) : '';
        $ch = curl_init('https://127.0.0.1:9/');     // nothing listens: the connect must fail, not the CA setup
        curl_setopt_array($ch, [CURLOPT_RETURNTRANSFER => true, CURLOPT_CONNECTTIMEOUT => 2]);
        curl_exec($ch);
        $version = curl_version();
        out([
            'curl_cainfo' => $ca,
            'openssl_cafile' => ini_get('openssl.cafile'),
            'bundle_certs' => substr_count($bundle, 'BEGIN CERTIFICATE'),
            'bundle_has_isrg_root_x1' => str_contains(implode("\n", array_map(
                fn ($pem) => (openssl_x509_parse("-----BEGIN CERTIFICATE-----$pem") ?: ['name' => ''])['name'],
                array_slice(explode('-----BEGIN CERTIFICATE-----', $bundle), 1)
            )), 'ISRG Root X1'),
            'curl_errno' => curl_errno($ch),
            'curl_error' => curl_error($ch),
            'curl_ssl' => $version['ssl_version'],
            'curl_https' => in_array('https', $version['protocols'], true),
            'openssl_default_cafile' => openssl_get_cert_locations()['default_cert_file'] ?? null,
            'stream_https_wrapper' => in_array('https', stream_get_wrappers(), true),
        ]);
        break;

    case '/env':
        out([
            'sapi' => PHP_SAPI,
            'version' => PHP_VERSION,
            'uid' => function_exists('posix_getuid') ? posix_getuid() : null,
            'extensions' => get_loaded_extensions(),
            'zend_extensions' => get_loaded_extensions(true),
            'opcache' => function_exists('opcache_get_status') ? (opcache_get_status(false)['opcache_enabled'] ?? false) : null,
            'tmp_writable' => file_put_contents(sys_get_temp_dir() . '/w', 'x') === 1,
            'task_writable' => @file_put_contents(__DIR__ . '/w', 'x') !== false,
            'ini_files' => php_ini_loaded_file(),
            'scanned' => php_ini_scanned_files(),
            'invocation_context' => json_decode((string) ($_SERVER['LAMBDA_INVOCATION_CONTEXT'] ?? 'null'), true),
        ]);
        break;

    default:
        http_response_code(404);
        out(['error' => 'no such check', 'path' => $path]);
}
