<form method="post" action="/login" class="card">
<input type="hidden" name="_csrf" value="<?= htmlspecialchars($csrf) ?>">
<label>Name <input type="text" name="name" required></label>
<button type="submit">Log in</button>
</form>
