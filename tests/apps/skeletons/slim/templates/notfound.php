<p class="error">Nothing here.</p>
